import ArchiveFormat
import ArchiveReading
import ArgumentParser
import Cryptography
import Foundation
import ObjectStore

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

    @OptionGroup var target: ArchiveArgument

    @Flag(name: .long, help: "Print the manifest as JSON (exactly as stored) instead of a summary.")
    var json = false

    @Flag(name: .long, help: "List every chunk too.")
    var chunks = false

    @OptionGroup var identities: IdentityOptions

    @OptionGroup(title: "Trust")
    var trust: TrustOptions

    @OptionGroup var unsigned: UnsignedOption

    @OptionGroup(title: "S3")
    var s3: S3Options

    func run() async throws {
        let context = try CommandContext(global, s3: s3)
        let policy = try trust.policy(environment: context.environment, allowUnsigned: unsigned.insecureUnsigned)
        let archive = try target.location(policy: policy, context: context)
        let location = try ArchiveLocation(archive, settings: context.storeSettings)
        let gated = try GatedArchive.open(location, policy: policy)
        if (location.isEncrypted && identities.isEmpty) || gated.isPartitioned {
            // Without a key only the seal can be shown: what an auditor without data access sees.
            // A partitioned archive's seal lists its parts; their manifests are read by verify.
            guard let seal = gated.seal else {
                throw ArchiveManifest.ReadError.malformed("\(archive) has no signed seal, and without --identity nothing else can be shown")
            }
            if json {
                print(String(decoding: try seal.encoded(), as: UTF8.self), terminator: "")
            } else {
                HumanOutput.out(SealSummary.lines(seal, path: archive))
            }
            return
        }
        let keys = try identities.keyring()
        let object = try gated.openObject()
        let manifestBytes = try ArchiveManifest.read(from: try location.plaintext(of: object, keys: keys))
        // The manifest counts only as part of the sealed object.
        try object.finish()
        if let seal = gated.seal, SHA256Hasher.hash(manifestBytes).hex != seal.manifestSHA256 {
            throw SealProblem(location: "manifest.json", problem: "SHA-256 differs from the seal's manifest_sha256: the manifest was altered")
        }
        if json {
            FileHandle.standardOutput.write(Data(manifestBytes))
            return
        }
        if FilesManifest.format(of: manifestBytes) == FilesManifest.formatIdentifier {
            let manifest = try FilesManifest.decode(manifestBytes)
            HumanOutput.out([archive, "  archive of files \(manifest.name), created \(manifest.createdAt), \(manifest.files.count) entries"]
                + manifest.files.map { file in
                    let detail = file.kind == .symlink ? "-> \(file.target ?? "")" : file.kind == .file ? "\(file.size) bytes" : ""
                    return "  \(file.mode)  \(file.kind.rawValue.padding(toLength: 9, withPad: " ", startingAt: 0))  \(file.path)  \(detail)"
                })
            return
        }
        let manifest = try ArchiveManifest.decode(manifestBytes)
        HumanOutput.out(ManifestSummary.lines(manifest, path: archive, withChunks: chunks))
    }
}
