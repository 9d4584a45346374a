import Archive
import Foundation
import ObjectStore
import Operations
import Seal
import TestSupport
import XCTest

/// Retention decisions on a store of hand-made archives, with the clock held still: ages on
/// both sides of the boundary, newer unsealed objects, forged seals.
final class PrunerTests: XCTestCase {
    var directory: TemporaryDirectory!
    var store: LocalStore!
    var key: SSHSigningKey!
    var signers = AllowedSigners()
    let now = ISO8601DateFormatter().date(from: "2026-12-02T12:00:00Z") ?? Date()

    override func setUpWithError() throws {
        directory = try TemporaryDirectory()
        store = try LocalStore(root: directory.path)
        key = try SSHSigningKey.generate(comment: "nightly")
        try signers.add(text: "nightly " + key.publicKey.line(), origin: "test")
    }

    /// An archive created `age` seconds before `now`: the object, and unless `sealed` is false,
    /// its seal and signature.
    @discardableResult
    func archive(age: TimeInterval, sealed: Bool = true, profile: String = "p") throws -> String {
        let created = now.addingTimeInterval(-age)
        let stamp = DateFormatter()
        stamp.locale = Locale(identifier: "en_US_POSIX")
        stamp.timeZone = TimeZone(identifier: "UTC")
        stamp.dateFormat = "yyyyMMdd'T'HHmmss'Z'"
        let name = "\(profile)-\(stamp.string(from: created)).tar.zst"
        let key = "\(profile)/\(name)"
        try store.put(key: key, contents: Array("object".utf8))
        guard sealed else { return key }
        let seal = SealDocument(object: name, size: 6, sha256: SHA256Hasher.hash(Array("object".utf8)).hex, manifestSHA256: "",
                                createdAt: ISO8601DateFormatter().string(from: created), profile: profile, encryption: "none",
                                recipients: [], compression: "zstd", snapshot: "", walLSN: "", tables: [],
                                signer: self.key.publicKey.fingerprint, tool: "test")
        let bytes = try seal.encoded()
        try store.put(key: key + ".seal", contents: bytes)
        try store.put(key: key + ".seal.sig", contents: Array(try SSHSignature.sign(bytes, namespace: "pgseal", key: self.key).utf8))
        return key
    }

    func prune(keepDays: Int, keepLast: Int = 1) throws -> Pruner.Outcome {
        try Pruner.run(.init(store: directory.path, keepDays: keepDays, keepLast: keepLast, signers: signers, now: now))
    }

    func testAgesOnBothSidesOfTheBoundary() throws {
        let day: TimeInterval = 86_400
        let newest = try archive(age: 1 * day)
        let inside = try archive(age: 7 * day - 1)
        let outside = try archive(age: 7 * day + 1)
        let outcome = try prune(keepDays: 7)
        XCTAssertEqual(outcome.deleted, [outside])
        XCTAssertEqual(Set(outcome.kept), [newest, inside])
        XCTAssertFalse(store.exists(key: outside + ".seal.sig"))
        XCTAssertTrue(store.exists(key: inside + ".seal.sig"))
    }

    func testANewerUnsealedObjectTakesNoKeepLastPlace() throws {
        let day: TimeInterval = 86_400
        let sealed = try archive(age: 10 * day)
        let unsealed = try archive(age: 1 * day, sealed: false)
        // The only sealed archive is past retention, but it is the newest sealed one: kept.
        let outcome = try prune(keepDays: 7)
        XCTAssertEqual(outcome.kept, [sealed])
        XCTAssertEqual(outcome.deleted, [])
        XCTAssertTrue(store.exists(key: unsealed), "a young unsealed object is an export in progress or a fresh failure, not prunable yet")
        // Once it is older than the retention, the unsealed object goes; the sealed one stays.
        let later = try Pruner.run(.init(store: directory.path, keepDays: 7, keepLast: 1, signers: signers, now: now.addingTimeInterval(8 * day)))
        XCTAssertEqual(later.deleted, [unsealed])
        XCTAssertTrue(store.exists(key: sealed))
    }

    func testAnArchiveWhoseSignatureDoesNotVerifyIsNeverCountedOrDeleted() throws {
        let day: TimeInterval = 86_400
        let genuine = try archive(age: 20 * day)
        let forged = try archive(age: 30 * day)
        try "not a signature".write(toFile: directory.file(forged + ".seal.sig"), atomically: true, encoding: .utf8)
        let outcome = try prune(keepDays: 7)
        XCTAssertEqual(outcome.kept, [genuine])
        XCTAssertEqual(outcome.unverified.map(\.key), [forged])
        XCTAssertTrue(store.exists(key: forged) && store.exists(key: forged + ".seal.sig"))
    }

    func testKeepLastZeroIsRefused() throws {
        let result = try PGSealCLI.run(["prune", directory.path, "--keep-days", "0", "--keep-last", "0", "--trusted-key", "/dev/null"])
        XCTAssertEqual(result.status, 2, result.err)
        XCTAssertTrue(result.err.contains("--keep-last must be at least 1"), result.err)
    }
}
