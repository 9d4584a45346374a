import Cryptography
import Foundation
import TestSupport
import XCTest

/// The community age test vectors (C2SP/CCTV, `age/testdata`, 0BSD), run against pgseal's age
/// reader: every vector's expected outcome — success with the payload's hash, or the precise
/// kind of failure — must be pgseal's. Armored and ML-KEM hybrid vectors are left out: pgseal
/// reads neither armor nor hybrid recipients (docs/SECURITY.md).
final class CCTVAgeVectorTests: XCTestCase {
    struct Vector {
        let name: String
        var expect = ""
        var payload: String?
        var identities: [String] = []
        var passphrases: [String] = []
        var compressed = false
        var body: [UInt8] = []
    }

    static var directory: String { URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("CCTV").path }

    func vectors() throws -> [Vector] {
        let names = try FileManager.default.contentsOfDirectory(atPath: Self.directory).sorted()
        XCTAssertGreaterThan(names.count, 80, "the vectors are missing")
        return try names.map { name in
            let bytes = Array(try Data(contentsOf: URL(fileURLWithPath: Self.directory + "/" + name)))
            var vector = Vector(name: name)
            var start = 0
            while let newline = bytes[start...].firstIndex(of: 0x0A) {
                let line = String(decoding: bytes[start..<newline], as: UTF8.self)
                start = newline + 1
                if line.isEmpty { break }
                guard let colon = line.range(of: ": ") else { continue }
                let key = String(line[..<colon.lowerBound]), value = String(line[colon.upperBound...])
                switch key {
                case "expect": vector.expect = value
                case "payload": vector.payload = value
                case "identity": vector.identities.append(value)
                case "passphrase": vector.passphrases.append(value)
                case "compressed": vector.compressed = value == "zlib"
                default: break
                }
            }
            vector.body = Array(bytes[start...])
            if vector.compressed { vector.body = try Self.inflate(vector.body) }
            return vector
        }
    }

    /// zlib through Python's zlib module: Foundation on Linux has no inflate.
    static func inflate(_ bytes: [UInt8]) throws -> [UInt8] {
        let directory = try TemporaryDirectory()
        try Data(bytes).write(to: URL(fileURLWithPath: directory.file("in")))
        let result = try Command.run(["python3", "-c", "import sys, zlib; open(sys.argv[2], 'wb').write(zlib.decompress(open(sys.argv[1], 'rb').read()))",
                                      directory.file("in"), directory.file("out")])
        XCTAssertEqual(result.status, 0, result.err)
        return Array(try Data(contentsOf: URL(fileURLWithPath: directory.file("out"))))
    }

    func testEveryVectorEndsAsItSays() throws {
        var checked = 0
        for vector in try vectors() {
            let identities = try vector.identities.map { try AgeIdentity(parsing: $0) }
            // One passphrase at a time, as age tries them; a vector lists at most one here.
            let keys = AgeKeyring(identities: identities, passphrase: vector.passphrases.first.map { Array($0.utf8) })
            let hasher = SHA256Hasher()
            var outcome = "success"
            do {
                let source = try AgeDecryptingSource(MemorySource(vector.body), keys: keys)
                try source.forEachBlock(size: 64 * 1024) { hasher.update($0) }
            } catch let error as AgeError {
                switch error {
                case .malformedHeader: outcome = "header failure"
                case .headerMACMismatch: outcome = "HMAC failure"
                case .noMatchingIdentity, .wrongPassphrase, .passphraseRequired: outcome = "no match"
                case .payloadCorrupted, .truncated: outcome = "payload failure"
                default: outcome = "other: \(error)"
                }
            }
            XCTAssertEqual(outcome, vector.expect, "vector \(vector.name)")
            if let payload = vector.payload, outcome == vector.expect, outcome == "success" || outcome == "payload failure" {
                XCTAssertEqual(hasher.finalize().hex, payload, "payload released by vector \(vector.name)")
            }
            checked += 1
        }
        XCTAssertGreaterThan(checked, 80)
    }
}
