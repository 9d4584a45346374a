import Cryptography
import Foundation
import XCTest

final class SHA256Tests: XCTestCase {
    func testKnownVectors() {
        XCTAssertEqual(SHA256Hasher.hash(Array("abc".utf8)).hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        XCTAssertEqual(SHA256Hasher.hash(Array("".utf8)).hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        XCTAssertEqual(
            SHA256Hasher.hash(Array("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq".utf8)).hex,
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
    }

    func testIncrementalEqualsOneShotAndAgreesWithSha256sum() throws {
        // A fixed pseudo-random stream (xorshift), so that a failure can be replayed.
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        let data = (0..<300_000).map { _ -> UInt8 in
            state ^= state << 13
            state ^= state >> 7
            state ^= state << 17
            return UInt8(truncatingIfNeeded: state)
        }
        let hasher = SHA256Hasher()
        var offset = 0
        for size in [1, 63, 64, 65, 4096, 100_000] {
            data[offset..<offset + size].withUnsafeBytes { hasher.update($0) }
            offset += size
        }
        data[offset...].withUnsafeBytes { hasher.update($0) }
        let incremental = hasher.finalize()
        XCTAssertEqual(incremental, SHA256Hasher.hash(data))

        let path = NSTemporaryDirectory() + "sha-\(UUID().uuidString)"
        FileManager.default.createFile(atPath: path, contents: Data(data))
        defer { try? FileManager.default.removeItem(atPath: path) }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/sha256sum")
        process.arguments = [path]
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        XCTAssertEqual(String(output.prefix(64)), incremental.hex)
    }

    func testDigestHexRoundTrip() {
        let digest = SHA256Hasher.hash(Array("pgseal".utf8))
        XCTAssertEqual(Digest(hex: digest.hex), digest)
        XCTAssertNil(Digest(hex: "zz"))
    }
}
