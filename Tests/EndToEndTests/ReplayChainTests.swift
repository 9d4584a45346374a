import Foundation
import TestSupport
import XCTest

/// Bases and change segments as one series: `chain` walks both, `prune` keeps whole replay
/// chains (a kept base and every segment it replays), and a restore from the base that stays
/// still reaches the live tables. The oracle for what must stay is the segments' own seals,
/// read here as JSON, and psql's COPY text of the tables.
final class ReplayChainTests: XCTestCase {
    func testChainWalksSegmentsAndPruneKeepsWhatAKeptBaseReplays() throws {
        let setup = try FollowTests.makeSetup("replaychain", for: self)
        XCTAssertEqual(try setup.follow().status, 0)
        let firstBase = try setup.newestBase()
        for round in 1...2 {
            try setup.server.psql("UPDATE items SET price = price + \(round) WHERE id <= 20; INSERT INTO tags VALUES (\(round), 'round \(round)')",
                                  database: setup.database)
            XCTAssertEqual(try setup.follow().status, 0)
        }
        // Archives are ordered by their creation time, to the second: the exact base is the newer.
        Thread.sleep(forTimeInterval: 1.1)
        let exported = try PGSealCLI.run(["export", "--exact-position", "--db", setup.url, "--to", setup.store, "--name", setup.name,
                                          "-R", setup.keys + "/age-recipient.txt", "--sign-key", setup.keys + "/signing-key",
                                          "--table", "public.items", "--table", "public.tags", "-q"])
        XCTAssertEqual(exported.status, 0, exported.err)
        let exactBase = exported.out.trimmingCharacters(in: .whitespacesAndNewlines)
        let exactLSN = try LSNText(JSONDocument(data: Data(contentsOf: URL(fileURLWithPath: exactBase + ".seal")))["wal_lsn"].string())
        for round in 3...4 {
            try setup.server.psql("DELETE FROM tags WHERE item_id = \(round + 100); UPDATE items SET note = 'round \(round)' WHERE id = \(round)",
                                  database: setup.database)
            XCTAssertEqual(try setup.follow().status, 0)
        }
        let segments = try segmentSeals(setup)
        XCTAssertGreaterThanOrEqual(segments.count, 5, "an anchor and a segment per round")

        // chain: one replay chain from the first base through the newest segment.
        let walked = try chain(setup)
        XCTAssertEqual(walked.status, 0, walked.out + walked.err)
        let state = try JSONDocument(data: walked.stdout)["profiles"].array()[0]
        XCTAssertEqual(try state["segments"].int(), segments.count)
        let chains = try state["change_chains"].array()
        XCTAssertEqual(chains.count, 1)
        XCTAssertEqual(try chains[0]["base"].string(), (firstBase as NSString).lastPathComponent)
        XCTAssertEqual(try chains[0]["to_lsn"].string(), segments.last?.to.text)

        // list counts them, and names the newest with its position.
        let listed = try PGSealCLI.run(["list", setup.store, "--profile", setup.name, "--trusted-key", setup.keys + "/allowed_signers", "--json"])
        let changes = try JSONDocument(data: listed.stdout)["changes"].array()
        XCTAssertEqual(try changes.map { try $0["segments"].int() }, [segments.count], listed.out)
        XCTAssertEqual(try changes[0]["sealed_lsn"].string(), segments.last?.to.text)
        XCTAssertTrue(try changes[0]["newest"].string().hasSuffix(try XCTUnwrap(segments.last).key), listed.out)

        // prune keeps the exact base only: the first base goes, and with it every segment that
        // ends at or before the exact base's position — but the newest is the follower's tip.
        let mustGo = segments.dropLast().filter { $0.to <= exactLSN }.map(\.key)
        let mustStay = segments.filter { !mustGo.contains($0.key) }.map(\.key)
        XCTAssertFalse(mustGo.isEmpty, "segments before the exact base exist")
        XCTAssertFalse(mustStay.isEmpty)
        let dry = try prune(setup, ["--dry-run"])
        XCTAssertEqual(dry.status, 0, dry.err)
        XCTAssertEqual(try JSONDocument(data: dry.stdout)["segments_deleted"].int(), mustGo.count, dry.out)
        XCTAssertTrue(mustGo.allSatisfy { FileManager.default.fileExists(atPath: $0) }, "a dry run deletes nothing")

        let pruned = try prune(setup)
        XCTAssertEqual(pruned.status, 0, pruned.err)
        XCTAssertEqual(try JSONDocument(data: pruned.stdout)["segments_deleted"].int(), mustGo.count, pruned.out)
        XCTAssertFalse(FileManager.default.fileExists(atPath: firstBase), "the first base is pruned")
        for key in mustGo {
            XCTAssertFalse(FileManager.default.fileExists(atPath: key), "pruned: \(key)")
            XCTAssertTrue(FileManager.default.fileExists(atPath: key + ".seal") && FileManager.default.fileExists(atPath: key + ".tombstone"),
                          "its seal stays as a tombstone: \(key)")
        }
        for key in mustStay { XCTAssertTrue(FileManager.default.fileExists(atPath: key), "kept: \(key)") }
        XCTAssertEqual(try prune(setup).status, 0, "a second prune is harmless")

        // The series is still whole, and the base that stays replays to the live tables.
        let after = try chain(setup)
        XCTAssertEqual(after.status, 0, after.out + after.err)
        XCTAssertEqual(try JSONDocument(data: after.stdout)["profiles"].array()[0]["segment_tombstones"].int(), mustGo.count)
        let restored = try setup.restore(until: "latest", base: exactBase, test: self)
        XCTAssertEqual(try setup.contents(of: restored), try setup.contents(of: setup.database))
        XCTAssertEqual(try setup.follow().status, 0, "the follower resumes after prune")

        // Hostile stores: an object removed by hand, a segment removed with its seal.
        let middle = try XCTUnwrap(mustStay.first)
        try FileManager.default.moveItem(atPath: middle, toPath: middle + ".away")
        let missing = try chain(setup)
        XCTAssertEqual(missing.status, 1, missing.out)
        XCTAssertTrue(missing.out.contains("object-missing"), missing.out)
        try FileManager.default.moveItem(atPath: middle + ".away", toPath: middle)
        for suffix in ["", ".seal", ".seal.sig", ".sha256"] where FileManager.default.fileExists(atPath: middle + suffix) {
            try FileManager.default.removeItem(atPath: middle + suffix)
        }
        let unlinked = try chain(setup)
        XCTAssertEqual(unlinked.status, 1, unlinked.out)
        XCTAssertTrue(unlinked.out.contains("segment-link") && unlinked.out.contains("lsn-gap"), unlinked.out)

        // The auditors' report walks the same series and lists the same breaks as findings.
        let reported = try PGSealCLI.run(["report", setup.store, "--profile", setup.name, "--trusted-key", setup.keys + "/allowed_signers", "--json"])
        let evidence = try JSONDocument(data: reported.stdout)["profiles"].array()[0]
        XCTAssertEqual(try evidence["chain"]["segments"].int(), try segmentSeals(setup).count, reported.out)
        XCTAssertTrue(try evidence["findings"].array().map { try $0.string() }.contains { $0.contains("segment-link") }, reported.out)
    }

    private func chain(_ setup: FollowTests.Setup) throws -> CommandResult {
        try PGSealCLI.run(["chain", setup.store, "--profile", setup.name, "--trusted-key", setup.keys + "/allowed_signers", "--json"])
    }

    private func prune(_ setup: FollowTests.Setup, _ extra: [String] = []) throws -> CommandResult {
        try PGSealCLI.run(["prune", setup.store, "--profile", setup.name, "--keep-last", "1", "--keep-daily", "1",
                           "--trusted-key", setup.keys + "/allowed_signers", "--json"] + extra)
    }

    struct Segment {
        let key: String
        let to: LSNText
    }

    /// Every segment of the store, in sequence order, with the end of its range from its seal.
    private func segmentSeals(_ setup: FollowTests.Setup) throws -> [Segment] {
        let root = setup.store + "/" + setup.name + "/changes"
        let files = try XCTUnwrap(FileManager.default.enumerator(atPath: root)).compactMap { $0 as? String }.filter { $0.hasSuffix(".seal") }
        let sequence = { (path: String) in path.range(of: ".tar").map { String(path[..<$0.lowerBound].suffix(10)) } ?? path }
        return try files.sorted { sequence($0) < sequence($1) }.map { path in
            let seal = try JSONDocument(data: Data(contentsOf: URL(fileURLWithPath: root + "/" + path)))
            return Segment(key: root + "/" + String(path.dropLast(".seal".count)), to: try LSNText(seal["changes"]["to_lsn"].string()))
        }
    }
}

/// `X/Y` as PostgreSQL prints a WAL position, compared as the number it is.
struct LSNText: Comparable {
    let text: String
    let value: UInt64

    init(_ text: String) throws {
        let halves = text.split(separator: "/")
        guard halves.count == 2, let high = UInt64(halves[0], radix: 16), let low = UInt64(halves[1], radix: 16) else {
            throw TestSetupError("not a WAL position: \(text)")
        }
        self.text = text
        self.value = high << 32 | low
    }

    static func < (a: LSNText, b: LSNText) -> Bool { a.value < b.value }
}
