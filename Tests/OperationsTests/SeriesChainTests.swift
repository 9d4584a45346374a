import ArchiveFormat
import ArchiveReading
import Cryptography
import Foundation
import Operations
import XCTest

/// The series of hand-made seals: what each way of breaking it looks like to `SeriesChain`.
final class SeriesChainTests: XCTestCase {
    var made: HandMadeStore!
    let day: TimeInterval = 86_400

    override func setUpWithError() throws {
        made = try HandMadeStore()
    }

    /// Four nightly archives, each linked to the one before; the keys, oldest first.
    func series(_ count: Int = 4, firstAge: Int = 4) throws -> [String] {
        var keys: [String] = []
        for n in 0..<count {
            let chain = try keys.last.map { try made.link(to: $0) } ?? SealChain(previous: nil)
            keys.append(try made.archive(age: Double(firstAge - n) * day, chain: chain))
        }
        return keys
    }

    func state() throws -> ChainState {
        let entries = try SeriesReader.read(made.store, profile: "p", policy: TrustPolicy(signers: made.signers), verifiers: made.signers)
        let states = SeriesChain.walk(entries)
        XCTAssertEqual(states.count, 1)
        return try XCTUnwrap(states.first)
    }

    func testAnIntactSeries() throws {
        let keys = try series()
        let state = try state()
        XCTAssertEqual(state.status, "intact", "\(state.breaks)")
        XCTAssertEqual(state.chained, 4)
        XCTAssertEqual(state.head, keys.last.map { String($0.split(separator: "/").last ?? "") })
    }

    func testAnArchiveRemovedWithItsSealFromTheMiddleIsFound() throws {
        let keys = try series()
        _ = try made.store.delete(keys: [keys[1], keys[1] + ".seal", keys[1] + ".seal.sig"])
        let state = try state()
        XCTAssertEqual(state.breaks.map(\.kind), ["missing"])
        XCTAssertEqual(state.breaks.first?.object, String(keys[2].split(separator: "/").last ?? ""), "the break shows at the archive that links to the removed one")
    }

    func testASealReplacedByTheSignerIsFound() throws {
        let keys = try series()
        // The insider re-signs archive 1 with another row count: the signature verifies, the link does not.
        var seal = try SealDocument.decode(try made.store.readSmall(key: keys[1] + ".seal"))
        seal.tables = [.init(name: "public.users", rows: 1, digest: String(repeating: "0", count: 64))]
        let bytes = try seal.encoded()
        _ = try made.store.delete(keys: [keys[1] + ".seal", keys[1] + ".seal.sig"])
        try made.store.put(key: keys[1] + ".seal", contents: bytes)
        try made.store.put(key: keys[1] + ".seal.sig", contents: Array(try SSHSignature.sign(bytes, namespace: "pgseal", key: made.key).utf8))
        let state = try state()
        XCTAssertEqual(state.breaks.map(\.kind), ["altered"])
        XCTAssertTrue(state.breaks.first?.detail.contains("replaced") ?? false)
    }

    func testASealByAStrangerIsUnverifiableAndSoIsItsLink() throws {
        let keys = try series(3)
        let stranger = try SSHSigningKey.generate(comment: "stranger")
        try made.archive(age: 0.5 * day, chain: try made.link(to: keys[2]), signedBy: stranger)
        let state = try state()
        XCTAssertEqual(state.breaks.map(\.kind), ["unverifiable"])
    }

    func testPruningLeavesTombstonesAndTheSeriesIntact() throws {
        let keys = try series(4, firstAge: 40)
        let outcome = try Pruner.run(.init(store: made.directory.path, keepDays: 7, keepLast: 1, signers: made.signers, now: made.now))
        XCTAssertEqual(outcome.deleted.count, 3)
        let state = try state()
        XCTAssertEqual(state.status, "intact", "\(state.breaks)")
        XCTAssertEqual(state.tombstones, 3)
        XCTAssertTrue(made.store.exists(key: keys[3]))
    }

    func testAnObjectDeletedWithoutPruneIsFound() throws {
        let keys = try series()
        _ = try made.store.delete(keys: [keys[1]])
        let state = try state()
        XCTAssertEqual(state.breaks.map(\.kind), ["object-missing"])
        // A tombstone note copied from another archive does not cover it.
        _ = try Pruner.run(.init(store: made.directory.path, keepDays: 1, keepLast: 1, signers: made.signers, now: made.now))
        XCTAssertFalse(made.store.exists(key: keys[0]))
        _ = try made.store.delete(keys: [keys[1] + ".tombstone"])
        try made.store.put(key: keys[1] + ".tombstone", contents: try made.store.readSmall(key: keys[0] + ".tombstone"))
        XCTAssertEqual(try self.state().breaks.map(\.kind), ["object-missing"])
    }

    func testSealsFromBeforeChainingStartTheSeriesButNoneMayFollowIt() throws {
        let legacy = try made.archive(age: 9 * day)
        let first = try made.archive(age: 8 * day, chain: try made.link(to: legacy))
        var state = try state()
        XCTAssertEqual(state.status, "intact")
        XCTAssertEqual(state.unchained, 1)
        try made.archive(age: 7 * day)  // an old exporter writing after the series began
        try made.archive(age: 6 * day, chain: try made.link(to: first))
        state = try self.state()
        XCTAssertEqual(state.breaks.map(\.kind), ["unlinked"])
        XCTAssertEqual(state.forks.count, 0)
    }

    func testConcurrentExportsForkWithoutBreaking() throws {
        let keys = try series(2)
        let link = try made.link(to: keys[1])
        try made.archive(age: 1 * day, chain: link)
        try made.archive(age: 1 * day - 1, chain: link)
        let state = try state()
        XCTAssertEqual(state.status, "intact")
        XCTAssertEqual(state.forks.count, 1)
        XCTAssertEqual(state.forks.first?.successors.count, 2)
    }

    func testAFirstSealAfterOthersIsARestart() throws {
        _ = try series(2)
        try made.archive(age: 0.5 * day, chain: SealChain(previous: nil))
        XCTAssertEqual(try state().breaks.map(\.kind), ["restart"])
    }
}
