import ArgumentParser
import ByteStreams
import Cryptography
import Foundation
import ObjectStore

struct EncryptCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "encrypt",
        abstract: "Encrypt a file to age recipients (age v1, binary form), as `age -r` does.",
        discussion: """
            Needs only public keys. With -o the output appears under its name only when complete.

            Example:
              pgseal encrypt --recipients-file age-recipient.txt -o notes.txt.age notes.txt
            """)

    @Argument(help: ArgumentHelp("The file to encrypt, or - for standard input.", valueName: "file"))
    var file: String

    @Option(name: [.customShort("r"), .long], help: ArgumentHelp("An age recipient (repeatable).", valueName: "age1…"))
    var recipient: [String] = []

    @Option(name: [.customShort("R"), .long], help: ArgumentHelp("A file of age recipients, one per line.", valueName: "file"))
    var recipientsFile: String?

    @Option(name: .shortAndLong, help: ArgumentHelp("Write to this file or s3://bucket/key instead of stdout.", valueName: "out"))
    var output: String?

    @OptionGroup(title: "S3")
    var s3: S3Options

    @OptionGroup var global: GlobalOptions

    func run() throws {
        let context = try CommandContext(global, s3: s3)
        var recipients = try recipient.map { try AgeRecipient(parsing: $0) }
        if let recipientsFile { recipients += try AgeRecipient.load(file: recipientsFile) }
        guard !recipients.isEmpty else { throw ValidationError("no recipients: give -r age1… or -R FILE") }
        let source: ByteSource = file == "-" ? try FileSource(path: "/dev/stdin") : try ArchiveLocation(file, settings: context.storeSettings).open()
        try OutputFile.write(to: output, context: context) { sink in
            let age = try AgeEncryptingSink(sink, recipients: recipients)
            try source.forEachBlock { try age.write($0) }
            try age.close()
        }
    }
}

/// Where `encrypt` and `decrypt` write: a file or an S3 object published only when complete
/// (a temporary name and rename; a multipart upload), or stdout.
enum OutputFile {
    static func write(to path: String?, context: CommandContext, _ body: (ByteSink) throws -> Void) throws {
        guard let path else {
            try body(FileDescriptorSink.standardOutput)
            return
        }
        let (store, key) = try ArchiveLocation.resolve(path, settings: context.storeSettings, cleanup: context.cleanup)
        let writer = try store.createObject(key: key)
        do {
            try body(writer)
            try writer.close()
        } catch {
            writer.abort()
            throw error
        }
    }
}
