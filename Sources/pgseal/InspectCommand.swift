import ArgumentParser
import Archive
import Export
import Foundation
import ObjectStore
import ByteStreams
import Seal

struct InspectCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "inspect",
        abstract: "Show an archive's manifest: source, snapshot, tables, rows, chunks, digests.",
        discussion: """
            Reads the archive as a stream to its last entry, manifest.json. An encrypted \
            archive (.age) shows its seal without a key, and its manifest with --identity.

            Example:
              pgseal inspect /var/backups/pgseal/kessan-user-data/2026/11/24/kessan-user-data-20261124T020000Z.tar.zst
            """)

    @OptionGroup var global: GlobalOptions

    @Argument(help: ArgumentHelp("The archive: a path or s3://bucket/key.", valueName: "archive"))
    var archive: String

    @Flag(name: .long, help: "Print the manifest as JSON (exactly as stored) instead of a summary.")
    var json = false

    @Flag(name: .long, help: "List every chunk too.")
    var chunks = false

    @Option(name: [.customShort("i"), .long], help: ArgumentHelp("age identity file, to read the manifest of an encrypted archive (repeatable).", valueName: "file"))
    var identity: [String] = []

    @OptionGroup(title: "S3")
    var s3: S3Options

    func run() async throws {
        s3.apply()
        _ = global.bootstrapLogging()
        let location = try ArchiveLocation(archive)
        if location.isEncrypted && identity.isEmpty {
            // Without a key only the seal can be shown: what an auditor without data access sees.
            guard let sealBytes = try location.sidecar(".seal") else {
                throw ArchiveManifest.ReadError.malformed("\(archive).seal does not exist: an archive without its seal is an interrupted or unsigned export")
            }
            if json {
                FileHandle.standardOutput.write(Data(sealBytes))
            } else {
                print(SealSummary.text(try SealDocument.decode(sealBytes), path: archive), terminator: "")
            }
            return
        }
        let keys = identity.isEmpty ? AgeKeyring() : try KeyOptions.keyring(identities: identity, passphraseFile: nil)
        let source = try location.openPlaintext(keys: keys)
        let manifestBytes = try ArchiveManifest.read(from: source)
        if json {
            FileHandle.standardOutput.write(Data(manifestBytes))
            return
        }
        if FilesManifest.format(of: manifestBytes) == FilesManifest.formatIdentifier {
            let manifest = try FilesManifest.decode(manifestBytes)
            print("\(archive)\n  archive of files \(manifest.name), created \(manifest.createdAt), \(manifest.files.count) entries")
            for file in manifest.files {
                let shown = file.path.replacingOccurrences(of: "\n", with: "\\n").replacingOccurrences(of: "\t", with: "\\t")
                let detail = file.kind == .symlink ? "-> \(file.target ?? "")" : file.kind == .file ? "\(file.size) bytes" : ""
                print("  \(file.mode)  \(file.kind.rawValue.padding(toLength: 9, withPad: " ", startingAt: 0))  \(shown)  \(detail)")
            }
            return
        }
        let manifest = try ArchiveManifest.decode(manifestBytes)
        print(ManifestSummary.text(manifest, path: archive, withChunks: chunks), terminator: "")
    }
}
