import ArgumentParser
import Display
import Export
import Foundation
import Logging

struct SealCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "seal",
        abstract: "Seal files and directory trees into an encrypted, signed archive.",
        discussion: """
            For what is not in the database but is needed to rebuild the service: configuration \
            exports, task definitions, parameter dumps. Each PATH goes into the archive under \
            its own name (files/NAME/…), with its permissions, times and symbolic links; the \
            manifest lists every entry with its SHA-256. The archive is named like an export, \
            with --name as its profile (NAME/YYYY/MM/DD/NAME-…), and verify (seal and deep), \
            list, check, prune and replicate treat it like any other. Nothing is written to a \
            temporary directory in clear. Extract with standard tools:
              age -d -i identity.txt X.tar.zst.age | zstd -d | tar -x

            Prints the archive's location on stdout.

            Example:
              pgseal seal /etc/kessan ./ecs-task-definitions --to s3://kessan-backups/pgseal/ --name kessan-config \\
                --recipients-file /etc/pgseal/recipients.txt --sign-key /etc/pgseal/signing-key
            """)

    @Argument(help: ArgumentHelp("Files and directories to seal.", valueName: "path"))
    var paths: [String]

    @Option(name: .long, help: ArgumentHelp("Destination store: a local directory or s3://bucket/prefix/ (PGSEAL_TO).", valueName: "store"))
    var to: String?

    @Option(name: .long, help: ArgumentHelp("The archive's name, its profile in list, check and prune.", valueName: "name"))
    var name: String

    @Option(name: [.customShort("r"), .long], help: ArgumentHelp("age recipient (age1…), repeatable.", valueName: "recipient"))
    var recipient: [String] = []

    @Option(name: [.customShort("R"), .long], help: ArgumentHelp("File of age recipients, one a line (PGSEAL_RECIPIENTS_FILE).", valueName: "file"))
    var recipientsFile: String?

    @Option(name: .long, help: ArgumentHelp("OpenSSH Ed25519 private key that signs the seal (PGSEAL_SIGN_KEY).", valueName: "file"))
    var signKey: String?

    @Flag(name: .long, help: "Write the archive unencrypted (for files that hold no secret).")
    var noEncrypt = false

    @Flag(name: .long, help: "Write no seal: list, check and verify will not accept the archive.")
    var noSign = false

    @OptionGroup(title: "Output") var output: OutputOptions

    @OptionGroup(title: "S3")
    var s3: S3Options

    @OptionGroup var global: GlobalOptions

    func run() throws {
        let context = try CommandContext(global, s3: s3)
        let logger = context.logger
        let environment = context.environment.filter { !$0.value.isEmpty }
        guard let destination = to ?? environment["PGSEAL_TO"] else { throw ValidationError("no destination: give --to DIR or s3://bucket/prefix/") }
        let keys = try SealingKeys(recipients: recipient, recipientsFile: recipientsFile ?? environment["PGSEAL_RECIPIENTS_FILE"],
                                   signKey: signKey ?? environment["PGSEAL_SIGN_KEY"], noEncrypt: noEncrypt, noSign: noSign)
        for warning in keys.warnings { logger.warning("\(warning)") }
        let settings = FileSealSettings(paths: paths, destination: destination, name: name, recipients: keys.recipients, signingKey: keys.signingKey)
        let result = try FileSealJob(settings: settings).run(store: context.storeSettings, cleanup: context.cleanup)
        try output.emitLocation(result, location: result.archive, summary: [
            "sealed \(Format.plural(result.files, "entry", "entries")) (\(Format.bytes(result.bytes)) of files) as \(name)",
            "  archive \(result.archive)",
            "  \(Format.bytes(result.objectBytes)), sha256 \(result.objectSHA256)",
        ], quiet: global.quiet)
    }
}
