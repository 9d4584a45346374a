import ArgumentParser
import ByteStreams
import Cryptography
import Foundation
import ObjectStore
import PGSealKit

struct DecryptCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "decrypt",
        abstract: "Decrypt an age v1 file (binary form), for operators and auditors without the age tool.",
        discussion: """
            Each 64 KiB chunk is authenticated before a byte of it is written. With -o the output \
            appears under its name only after the whole file authenticated; to stdout, a file \
            that turns out truncated or altered ends with an error and exit code 1.
            Exit codes: 0 decrypted; 1 the file is damaged or tampered; 2 no key given or no \
            identity matches.

            Example:
              pgseal decrypt --identity age-identity.txt X.tar.zst.age | zstd -d | tar -t
            """)

    @Argument(help: ArgumentHelp("The age file (a path or s3://bucket/key), or - for standard input.", valueName: "file"))
    var file: String

    @Option(name: [.customShort("i"), .long], help: ArgumentHelp("An age identity file (repeatable).", valueName: "file"))
    var identity: [String] = []

    @Option(name: .long, help: ArgumentHelp("A file whose first line is the passphrase, for passphrase-encrypted files.", valueName: "file"))
    var passphraseFile: String?

    @Option(name: .shortAndLong, help: ArgumentHelp("Write to this file or s3://bucket/key instead of stdout.", valueName: "out"))
    var output: String?

    @OptionGroup(title: "S3")
    var s3: S3Options

    @OptionGroup var global: GlobalOptions

    func run() throws {
        let context = try CommandContext(global, s3: s3)
        let keys = try KeyOptions.keyring(identities: identity, passphraseFile: passphraseFile)
        let source: ByteSource = file == "-" ? try FileSource(path: "/dev/stdin") : try ArchiveLocation(file, settings: context.storeSettings).open()
        let plaintext = try AgeDecryptingSource(source, keys: keys)
        try OutputFile.write(to: output, context: context) { sink in try plaintext.forEachBlock { try sink.write($0) } }
    }
}

/// Reading the keys that decryption needs from the files options name.
enum KeyOptions {
    static func keyring(identities: [String], passphraseFile: String?) throws -> AgeKeyring {
        var keys = AgeKeyring()
        for path in identities {
            if let warning = KeyFiles.permissionWarning(path) { warn(warning) }
            keys.identities += try AgeIdentity.load(file: path)
        }
        if let passphraseFile {
            guard let text = try? String(contentsOfFile: passphraseFile, encoding: .utf8),
                  let line = text.split(whereSeparator: \.isNewline).first, !line.isEmpty
            else { throw ValidationError("cannot read a passphrase from \(passphraseFile)") }
            keys.passphrase = Array(line.utf8)
        }
        guard !keys.isEmpty else { throw ValidationError("no key: give --identity FILE (age identity) or --passphrase-file FILE") }
        return keys
    }

    static func warn(_ message: String) {
        HumanOutput.err("pgseal: warning: \(message)")
    }
}
