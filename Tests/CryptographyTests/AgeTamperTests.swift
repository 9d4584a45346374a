import Cryptography
import Foundation
import TestSupport
import XCTest

/// Damaged, tampered and mis-keyed age files through `pgseal decrypt`: each case its own message
/// and exit code — 1 for a bad file, 2 for a missing or wrong key.
final class AgeTamperTests: XCTestCase {
    var keys: TemporaryDirectory!
    var identityFile: String { keys.file("identity.txt") }
    var plaintext: [UInt8] = []
    var ciphertext: [UInt8] = []
    var payloadStart = 0
    let sealedChunk = 65536 + 16

    override func setUpWithError() throws {
        keys = try TemporaryDirectory()
        XCTAssertEqual(try Command.run(["age-keygen", "-o", identityFile]).status, 0)
        let identity = try AgeIdentity.load(file: identityFile)[0]
        plaintext = AgeInteropTests.pattern(3 * 65536 + 3392)
        let sink = MemorySink()
        let age = try AgeEncryptingSink(sink, recipients: [try identity.recipient()])
        try plaintext.withUnsafeBytes { try age.write($0) }
        try age.close()
        ciphertext = sink.bytes
        let macLine = try XCTUnwrap(ciphertext.indices.first { i in ciphertext[i...].starts(with: Array("\n--- ".utf8)) })
        payloadStart = try XCTUnwrap(ciphertext[(macLine + 1)...].firstIndex(of: 0x0A)) + 1 + 16
        XCTAssertEqual(ciphertext.count, payloadStart + 3 * sealedChunk + 3392 + 16)
    }

    func decrypt(_ bytes: [UInt8], arguments: [String]? = nil, file: StaticString = #filePath, line: UInt = #line) throws -> CommandResult {
        let path = keys.file("case-\(UUID().uuidString).age")
        FileManager.default.createFile(atPath: path, contents: Data(bytes))
        return try PGSealCLI.run(["decrypt"] + (arguments ?? ["-i", identityFile]) + [path])
    }

    func expect(_ bytes: [UInt8], status: Int32, message: String, arguments: [String]? = nil, file: StaticString = #filePath, line: UInt = #line) throws {
        let result = try decrypt(bytes, arguments: arguments)
        XCTAssertEqual(result.status, status, result.err, file: file, line: line)
        XCTAssertTrue(result.err.contains(message), "expected «\(message)» in: \(result.err)", file: file, line: line)
    }

    func testTheUntouchedFileDecrypts() throws {
        let result = try decrypt(ciphertext)
        XCTAssertEqual(result.status, 0, result.err)
        XCTAssertEqual([UInt8](result.stdout), plaintext)
    }

    func testKeyProblemsExitWithTwo() throws {
        let other = try TemporaryDirectory()
        _ = try Command.run(["age-keygen", "-o", other.file("id")])
        try expect(ciphertext, status: 2, message: "no identity matches", arguments: ["-i", other.file("id")])
        try expect(ciphertext, status: 2, message: "no key", arguments: [])
        try "not a passphrase file".write(toFile: other.file("pw"), atomically: true, encoding: .utf8)
        try expect(ciphertext, status: 2, message: "no identity matches", arguments: ["--passphrase-file", other.file("pw")])
    }

    func testHeaderDamageExitsWithOne() throws {
        var version = ciphertext
        version[0] = UInt8(ascii: "b")
        try expect(version, status: 1, message: "not an age file")
        // A stanza added after encryption does not stop the file key from unwrapping, but the MAC catches it.
        let insertAt = ciphertext.indices.first { ciphertext[$0...].starts(with: Array("--- ".utf8)) }!
        let grease = Array(ciphertext[..<insertAt]) + Array("-> grease extra\nAAAA\n".utf8) + Array(ciphertext[insertAt...])
        try expect(grease, status: 1, message: "MAC does not match")
        var mac = ciphertext
        mac[insertAt + 6] = mac[insertAt + 6] == UInt8(ascii: "A") ? UInt8(ascii: "B") : UInt8(ascii: "A")
        try expect(mac, status: 1, message: "MAC")
        try expect(Array(ciphertext[..<(insertAt - 10)]), status: 1, message: "header")
        try expect([], status: 1, message: "the file is empty")
    }

    func testPayloadDamageNamesTheChunk() throws {
        var flipped = ciphertext
        flipped[payloadStart + sealedChunk + 100] ^= 0x01
        try expect(flipped, status: 1, message: "chunk 2 failed authentication")

        let removed = Array(ciphertext[..<(payloadStart + sealedChunk)]) + Array(ciphertext[(payloadStart + 2 * sealedChunk)...])
        try expect(removed, status: 1, message: "chunk 2 failed authentication")

        let first = ciphertext[payloadStart..<(payloadStart + sealedChunk)]
        let second = ciphertext[(payloadStart + sealedChunk)..<(payloadStart + 2 * sealedChunk)]
        let swapped = Array(ciphertext[..<payloadStart]) + Array(second) + Array(first) + Array(ciphertext[(payloadStart + 2 * sealedChunk)...])
        try expect(swapped, status: 1, message: "chunk 1 failed authentication")

        try expect(Array(ciphertext[..<(payloadStart + 2 * sealedChunk)]), status: 1, message: "ends after chunk 2 without a final chunk")
        try expect(Array(ciphertext[..<payloadStart]), status: 1, message: "without a final chunk")
        try expect(Array(ciphertext[..<(payloadStart + 2 * sealedChunk + 999)]), status: 1, message: "chunk 3 failed authentication")
        try expect(Array(ciphertext.dropLast()), status: 1, message: "chunk 4 failed authentication")
        try expect(ciphertext + [0], status: 1, message: "chunk 4 failed authentication")
    }

    func testOnlyAuthenticatedPlaintextIsReleased() throws {
        var flipped = ciphertext
        flipped[payloadStart + sealedChunk + 100] ^= 0x01
        let result = try decrypt(flipped)
        XCTAssertEqual(result.status, 1)
        XCTAssertEqual([UInt8](result.stdout), Array(plaintext[..<65536]), "exactly the first, authenticated chunk")
        // With -o, nothing at all appears under the output name.
        let out = keys.file("out.bin")
        let path = keys.file("flipped.age")
        FileManager.default.createFile(atPath: path, contents: Data(flipped))
        let toFile = try PGSealCLI.run(["decrypt", "-i", identityFile, "-o", out, path])
        XCTAssertEqual(toFile.status, 1)
        XCTAssertFalse(FileManager.default.fileExists(atPath: out))
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: keys.path).filter { $0.contains("partial") }, [])
    }
}
