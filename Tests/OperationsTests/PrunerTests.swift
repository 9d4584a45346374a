import ArchiveFormat
import ByteStreams
import Cryptography
import Foundation
import ObjectStore
import Operations
import TestSupport
import XCTest

/// Retention decisions on a store of hand-made archives, with the clock held still: ages on
/// both sides of the boundary, newer unsealed objects, forged seals.
final class PrunerTests: XCTestCase {
    var made: HandMadeStore!
    var directory: TemporaryDirectory { made.directory }
    var store: LocalStore { made.store }
    var signers: AllowedSigners { made.signers }
    var now: Date { made.now }

    override func setUpWithError() throws {
        made = try HandMadeStore()
    }

    @discardableResult
    func archive(age: TimeInterval, sealed: Bool = true, profile: String = "p") throws -> String {
        try made.archive(age: age, sealed: sealed, profile: profile)
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
        XCTAssertFalse(store.exists(key: outside))
        XCTAssertTrue(store.exists(key: outside + ".seal.sig") && store.exists(key: outside + ".tombstone"), "a pruned archive leaves its tombstone")
        XCTAssertTrue(store.exists(key: inside))
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

    /// The signature goes first; when a later deletion fails, the archive is no longer sealed
    /// (nothing takes it for one), the failure is reported, and the next prune finishes it.
    func testADeletionThatFailsHalfwayLeavesASealedArchiveAndIsFinishedNextTime() throws {
        let day: TimeInterval = 86_400
        try archive(age: 1 * day)
        let old = try archive(age: 30 * day)
        try store.put(key: old + ".sha256", contents: Array("digest".utf8))
        let failing = DeletionRecordingStore(store, failing: [old])
        let outcome = try Pruner.run(.init(store: directory.path, keepDays: 7, keepLast: 1, signers: signers, now: now), in: failing)
        XCTAssertEqual(failing.deleted, [old + ".sha256", old], "the object goes last, and the seal and its signature never")
        XCTAssertEqual(outcome.failed.map(\.key), [old])
        XCTAssertEqual(outcome.deleted, [])
        XCTAssertTrue(store.exists(key: old + ".seal.sig"))
        XCTAssertTrue(store.exists(key: old + ".tombstone"), "the tombstone note is written before anything is deleted")
        XCTAssertTrue(store.exists(key: old))
        let catalog = try ArchiveCatalog.scan(store, profile: nil, signers: signers)
        XCTAssertTrue(catalog.sealed.map(\.key).contains(old), "an archive whose object is still whole is still sealed")
        let next = try prune(keepDays: 7)
        XCTAssertEqual(next.deleted, [old])
        XCTAssertFalse(store.exists(key: old))
        XCTAssertTrue(store.exists(key: old + ".seal") && store.exists(key: old + ".seal.sig"), "the seal stays as the tombstone")
        let note = try Tombstone.decode(try store.readSmall(key: old + ".tombstone"))
        XCTAssertEqual(note.sealSHA256, SHA256Hasher.hash(try store.readSmall(key: old + ".seal")).hex)
        XCTAssertTrue(note.reason.contains("no rule keeps it"), note.reason)
        let after = try ArchiveCatalog.scan(store, profile: nil, signers: signers)
        XCTAssertFalse(after.sealed.map(\.key).contains(old), "a tombstone is no archive")
        XCTAssertEqual(after.tombstones.map(\.key), [old])
    }

    func testAnUnsealedRemainIsDeletedWhole() throws {
        let day: TimeInterval = 86_400
        try archive(age: 1 * day)
        let remains = "nightly/2026/10/01/nightly-20261001T020000Z.tar.zst"
        try store.put(key: remains, contents: Array("partial".utf8))
        try store.put(key: remains + ".seal", contents: Array("{}".utf8))
        let outcome = try prune(keepDays: 7)
        XCTAssertEqual(outcome.deleted, [remains])
        XCTAssertFalse(store.exists(key: remains + ".seal"))
        XCTAssertFalse(store.exists(key: remains + ".tombstone"))
    }
}

/// A store that records the order of deletions and refuses to delete some keys, around a real
/// local store: what a permission error or a lost connection halfway through looks like.
final class DeletionRecordingStore: ObjectStore {
    let base: ObjectStore
    let failing: Set<String>
    var deleted: [String] = []

    init(_ base: ObjectStore, failing: Set<String>) {
        self.base = base
        self.failing = failing
    }

    func delete(keys: [String]) throws -> [(key: String, reason: String)] {
        deleted += keys
        let refused = keys.filter(failing.contains).map { (key: $0, reason: "permission denied (test)") }
        let failures = try base.delete(keys: keys.filter { !failing.contains($0) })
        return refused + failures
    }

    func createObject(key: String) throws -> ObjectWriter { try base.createObject(key: key) }
    func put(key: String, contents: [UInt8]) throws { try base.put(key: key, contents: contents) }
    func open(key: String) throws -> ByteSource { try base.open(key: key) }
    func exists(key: String) -> Bool { base.exists(key: key) }
    func presence(of key: String) throws -> Bool { try base.presence(of: key) }
    func location(of key: String) -> String { base.location(of: key) }
    func pendingUploads(under prefix: String) throws -> [PendingUpload] { try base.pendingUploads(under: prefix) }
    func cancel(_ upload: PendingUpload) throws { try base.cancel(upload) }
    func list(prefix: String) throws -> [(key: String, size: Int64)] { try base.list(prefix: prefix) }
    func retainedUntil(key: String) throws -> Date? { try base.retainedUntil(key: key) }
}
