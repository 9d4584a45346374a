import ArgumentParser
import Archive
import Export
import Foundation
import ObjectStore

struct InspectCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "inspect",
        abstract: "Show an archive's manifest: source, snapshot, tables, rows, chunks, digests.",
        discussion: """
            Reads the archive as a stream to its last entry, manifest.json.

            Example:
              pgseal inspect /var/backups/pgseal/kessan-user-data/2026/11/24/kessan-user-data-20261124T020000Z.tar.zst
            """)

    @OptionGroup var global: GlobalOptions

    @Argument(help: ArgumentHelp("The archive: a path.", valueName: "archive"))
    var archive: String

    @Flag(name: .long, help: "Print the manifest as JSON (exactly as stored) instead of a summary.")
    var json = false

    @Flag(name: .long, help: "List every chunk too.")
    var chunks = false

    func run() async throws {
        _ = global.bootstrapLogging()
        let manifestBytes = try ArchiveManifest.read(from: try FileSource(path: archive))
        if json {
            FileHandle.standardOutput.write(Data(manifestBytes))
            return
        }
        let manifest = try ArchiveManifest.decode(manifestBytes)
        print(ManifestSummary.text(manifest, path: archive, withChunks: chunks), terminator: "")
    }
}
