import ArgumentParser
import Display
import Foundation
import PGSealKit
import Restore

struct ExtractCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "extract",
        abstract: "Put an archive of files (pgseal seal) back on disk, after proving it.",
        discussion: """
            The seal is verified against --trusted-key first. Every entry is checked as it \\
            streams — regular files, directories and symbolic links only; no absolute path, \\
            no `..`, no link pointing out of DIR, nothing written through a link — and written \\
            into a staging directory inside DIR; only when everything matches the signed \\
            manifest (kind, permissions, size, SHA-256, link target) does it move under its final \\
            name. An interrupted or refused extraction leaves nothing behind. Permissions and \\
            modification times are restored as recorded, without setuid/setgid bits; files \\
            belong to whoever extracts (an archive of files records no owners). An existing \\
            file is replaced only with --overwrite; a link already in DIR is never written \\
            through.
            Exit codes: 0 extracted; 1 the archive is bad or hostile (each problem named); 2 \\
            could not extract (no key, a file in the way, a full disk).

            Examples:
              pgseal extract s3://kessan-backups/pgseal/kessan-config/2026/11/24/kessan-config-20261124T020000Z.tar.zst.age \\
                --to /srv/restore --trusted-key allowed_signers -i age-identity.txt
              pgseal extract s3://kessan-backups/pgseal/ --latest --profile kessan-config --to /srv/restore \\
                --trusted-key allowed_signers -i age-identity.txt kessan/pgseal.yaml
            """)

    @OptionGroup var target: ArchiveArgument

    @Argument(help: ArgumentHelp("Only these paths of the archive (and what is below them), as inspect lists them.", valueName: "path"))
    var paths: [String] = []

    @Option(name: .long, help: ArgumentHelp("The directory to extract into (created if missing).", valueName: "dir"))
    var to: String

    @Flag(name: .long, help: "Replace files that already exist (never a directory, never through a link).")
    var overwrite = false

    @OptionGroup var identities: IdentityOptions

    @OptionGroup(title: "Trust")
    var trust: TrustOptions

    @OptionGroup(title: "Output") var output: OutputOptions

    @OptionGroup(title: "S3")
    var s3: S3Options

    @OptionGroup var global: GlobalOptions

    func run() throws {
        let context = try CommandContext(global, s3: s3)
        let policy = try trust.policy(environment: context.environment)
        let keys = try identities.keyring()
        var request = ExtractRequest(archive: try target.location(policy: policy, context: context), destination: to, policy: policy, keys: keys)
        request.paths = paths
        request.overwrite = overwrite
        request.storeSettings = context.storeSettings
        request.cleanup = context.cleanup
        let result = try PGSeal.extract(request)
        try output.emit(result, human: [
            "extracted \(Format.plural(result.files, "file")) (\(Format.bytes(result.bytes))), \(Format.plural(result.directories, "directory", "directories")) and \(Format.plural(result.symlinks, "symbolic link")) into \(result.destination)"
                + (result.skipped > 0 ? "; \(result.skipped) entries not selected" : "") + " in \(Format.seconds(result.seconds))",
        ])
    }
}
