import Cryptography
import Foundation
import TestSupport
import XCTest

/// pgseal's age implementation against the real `age` tool, both directions.
final class AgeInteropTests: XCTestCase {
    var keys: TemporaryDirectory!
    var identityFile: String { keys.file("identity.txt") }
    var recipient: AgeRecipient!

    override func setUpWithError() throws {
        keys = try TemporaryDirectory()
        let made = try Command.run(["age-keygen", "-o", identityFile])
        XCTAssertEqual(made.status, 0, made.err)
        let line = try String(contentsOfFile: identityFile, encoding: .utf8)
            .split(separator: "\n").first { $0.hasPrefix("# public key: ") }!
        recipient = try AgeRecipient(parsing: String(line.dropFirst("# public key: ".count)))
    }

    static func pattern(_ count: Int) -> [UInt8] {
        var state: UInt64 = 0x9E3779B97F4A7C15
        return (0..<count).map { _ in
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return UInt8(truncatingIfNeeded: state >> 33)
        }
    }

    func encrypt(_ plaintext: [UInt8], to recipients: [AgeRecipient]) throws -> [UInt8] {
        let sink = MemorySink()
        let age = try AgeEncryptingSink(sink, recipients: recipients)
        // Uneven writes, to cross chunk boundaries in every way.
        var offset = 0
        var step = 1
        while offset < plaintext.count {
            let n = min(step, plaintext.count - offset)
            try plaintext[offset..<offset + n].withUnsafeBytes { try age.write($0) }
            offset += n
            step = step * 3 + 7
        }
        try age.close()
        return sink.bytes
    }

    func decrypt(_ ciphertext: [UInt8], keys: AgeKeyring) throws -> [UInt8] {
        var out: [UInt8] = []
        try AgeDecryptingSource(MemorySource(ciphertext), keys: keys).forEachBlock(size: 10_000) { out.append(contentsOf: $0) }
        return out
    }

    let sizes = [0, 1, 65535, 65536, 65537, 3 * 65536, 5 << 20]

    func testAgeDecryptsWhatPgsealEncrypts() throws {
        for size in sizes {
            let plaintext = Self.pattern(size)
            let file = keys.file("p\(size).age")
            FileManager.default.createFile(atPath: file, contents: Data(try encrypt(plaintext, to: [recipient])))
            let result = try Command.run(["age", "-d", "-i", identityFile, file])
            XCTAssertEqual(result.status, 0, "size \(size): \(result.err)")
            XCTAssertEqual([UInt8](result.stdout), plaintext, "size \(size)")
        }
    }

    func testPgsealDecryptsWhatAgeEncrypts() throws {
        for size in sizes {
            let plaintext = Self.pattern(size)
            let input = keys.file("in\(size)")
            FileManager.default.createFile(atPath: input, contents: Data(plaintext))
            let result = try Command.run(["age", "-r", recipient.description, "-o", input + ".age", input])
            XCTAssertEqual(result.status, 0, result.err)
            let ciphertext = [UInt8](try Data(contentsOf: URL(fileURLWithPath: input + ".age")))
            XCTAssertEqual(try decrypt(ciphertext, keys: AgeKeyring(identities: try AgeIdentity.load(file: identityFile))), plaintext, "size \(size)")
        }
    }

    func testAHundredMebibyteStreamBothWays() throws {
        let size = 100 << 20
        let input = keys.file("big")
        FileManager.default.createFile(atPath: input, contents: Data(Self.pattern(size)))
        // pgseal decrypt (the CLI, streaming) of what age encrypted, and age -d of pgseal's.
        let script = """
            set -euo pipefail
            age -r "$1" -o "$0.age" "$0"
            "$2" decrypt -i "$3" "$0.age" | cmp - "$0"
            """
        let result = try Command.run(["bash", "-c", script, input, recipient.description, Repository.pgsealBinary, identityFile])
        XCTAssertEqual(result.status, 0, result.err)
        let sink = try TestFileSink(path: input + ".pgseal.age")
        let age = try AgeEncryptingSink(sink, recipients: [recipient])
        try TestFileSource(path: input).forEachBlock(size: 1 << 20) { try age.write($0) }
        try age.close()
        let back = try Command.run(["bash", "-c", "age -d -i \"$1\" \"$0.pgseal.age\" | cmp - \"$0\"", input, identityFile])
        XCTAssertEqual(back.status, 0, back.err)
    }

    func testSeveralRecipientsEachDecrypt() throws {
        let second = try TemporaryDirectory()
        _ = try Command.run(["age-keygen", "-o", second.file("id")])
        let secondIdentity = try AgeIdentity.load(file: second.file("id"))[0]
        let plaintext = Self.pattern(70_000)
        let ciphertext = try encrypt(plaintext, to: [recipient, try secondIdentity.recipient()])
        XCTAssertEqual(try decrypt(ciphertext, keys: AgeKeyring(identities: [secondIdentity])), plaintext)
        let file = keys.file("two.age")
        FileManager.default.createFile(atPath: file, contents: Data(ciphertext))
        let result = try Command.run(["age", "-d", "-i", identityFile, file])
        XCTAssertEqual([UInt8](result.stdout), plaintext)
    }

    func testPassphraseFilesInteroperate() throws {
        // age asks for a passphrase on a terminal only: pexpect plays the terminal.
        let plaintext = Self.pattern(100_000)
        let input = keys.file("pw-in")
        FileManager.default.createFile(atPath: input, contents: Data(plaintext))
        let typed = try Command.run([Repository.path("Tests/CryptographyTests/age_passphrase.py"), "encrypt", "correct horse", input, input + ".age"])
        XCTAssertEqual(typed.status, 0, typed.out + typed.err)
        let ciphertext = [UInt8](try Data(contentsOf: URL(fileURLWithPath: input + ".age")))
        XCTAssertEqual(try decrypt(ciphertext, keys: AgeKeyring(passphrase: Array("correct horse".utf8))), plaintext)
        XCTAssertThrowsError(try decrypt(ciphertext, keys: AgeKeyring(passphrase: Array("wrong".utf8)))) { error in
            guard case AgeError.wrongPassphrase = error else { return XCTFail("\(error)") }
        }

        let sink = MemorySink()
        let age = try AgeEncryptingSink(sink, passphrase: Array("battery staple".utf8), logN: 12)
        try plaintext.withUnsafeBytes { try age.write($0) }
        try age.close()
        FileManager.default.createFile(atPath: keys.file("pw.pgseal.age"), contents: Data(sink.bytes))
        let decrypted = try Command.run([Repository.path("Tests/CryptographyTests/age_passphrase.py"), "decrypt", "battery staple",
                                         keys.file("pw.pgseal.age"), keys.file("pw.out")])
        XCTAssertEqual(decrypted.status, 0, decrypted.out + decrypted.err)
        XCTAssertEqual([UInt8](try Data(contentsOf: URL(fileURLWithPath: keys.file("pw.out")))), plaintext)
    }

    func testKeyEncodingsMatchTheSpecification() throws {
        // The example identity and recipient of age-encryption.org/v1.
        let identity = try AgeIdentity(parsing: "AGE-SECRET-KEY-1GFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPQ4EGAEX")
        XCTAssertEqual(try identity.recipient().description, "age1zvkyg2lqzraa2lnjvqej32nkuu0ues2s82hzrye869xeexvn73equnujwj")
        XCTAssertEqual(identity.encoded, "AGE-SECRET-KEY-1GFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPQ4EGAEX")
        XCTAssertThrowsError(try AgeRecipient(parsing: "age1zvkyg2lqzraa2lnjvqej32nkuu0ues2s82hzrye869xeexvn73equnujwk"))
        XCTAssertNil(RawBase64.decode("AB=="))
        XCTAssertNil(RawBase64.decode("AB"), "non-canonical: trailing bits set")
        XCTAssertEqual(RawBase64.decode("AA"), [0])
    }
}

