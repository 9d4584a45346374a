import Foundation
import TestSupport
import XCTest

/// Proof of continuity (docs/FORMAT.md §11.5): a base and its change segments replayed to a
/// later base's exact position give that base's digests, while the application writes
/// throughout — and a change that reached the database without reaching the segments is found.
final class ContinuityTests: XCTestCase {
    func testABaseAndItsSegmentsReachALaterExactBaseAndAnUnseenChangeIsFound() throws {
        let setup = try FollowTests.makeSetup("continuity", for: self)
        let first = try setup.follow()
        XCTAssertEqual(first.status, 0, first.err)
        let firstBase = try setup.newestBase()

        // The application writes small transactions while the later base is exported: only an
        // exact position makes base and segments meet without a transaction too many or too few.
        let writer = try startWriter(setup)
        Thread.sleep(forTimeInterval: 1)
        let exported = try PGSealCLI.run(["export", "--exact-position", "--db", setup.url, "--to", setup.store, "--name", setup.name,
                                          "-R", setup.keys + "/age-recipient.txt", "--sign-key", setup.keys + "/signing-key",
                                          "--table", "public.items", "--table", "public.tags", "-q"])
        Thread.sleep(forTimeInterval: 1)
        stopWriter(writer, setup)
        XCTAssertEqual(exported.status, 0, exported.err)
        let laterBase = exported.out.trimmingCharacters(in: .whitespacesAndNewlines)
        let laterSeal = try JSONDocument(data: Data(contentsOf: URL(fileURLWithPath: laterBase + ".seal")))
        XCTAssertEqual(try laterSeal["wal_lsn_exact"].bool(), true, "an exact position is stated in the seal")
        XCTAssertEqual(try setup.server.psql("SELECT count(*) FROM pg_replication_slots WHERE temporary", database: setup.database)
            .trimmingCharacters(in: .whitespacesAndNewlines), "0", "the temporary slot went with its session")
        let caughtUp = try setup.follow()
        XCTAssertEqual(caughtUp.status, 0, caughtUp.err)

        // Base + segments replayed to the later base's position are that base, digest for digest.
        let proven = try verify(firstBase, untilArchive: laterBase, setup)
        XCTAssertEqual(proven.status, 0, proven.err + proven.out)
        let point = try JSONDocument(data: proven.stdout)["point_in_time"]
        XCTAssertGreaterThan(try point["replayed"]["changes"].int(), 10, "the writer's changes were replayed: \(proven.out)")
        XCTAssertEqual(try point["tables"].array().map { try $0["matches"].bool() }, [true, true])

        // The later base starts a replay on the chain that covers its position.
        let fromLater = try setup.restore(until: "latest", base: laterBase, test: self)
        XCTAssertEqual(try setup.contents(of: fromLater), try setup.contents(of: setup.database))

        // A change that reaches the database but not the segments (the publication lost the
        // table for one transaction): the next exact base no longer meets the chain, by name.
        let publication = try setup.server.psql("SELECT pubname FROM pg_publication", database: setup.database)
            .trimmingCharacters(in: .whitespacesAndNewlines)
        try setup.server.psql("ALTER PUBLICATION \(publication) DROP TABLE tags", database: setup.database)
        try setup.server.psql("INSERT INTO tags VALUES (1, 'never followed')", database: setup.database)
        try setup.server.psql("ALTER PUBLICATION \(publication) ADD TABLE tags", database: setup.database)
        let third = try PGSealCLI.run(["export", "--exact-position", "--db", setup.url, "--to", setup.store, "--name", setup.name,
                                       "-R", setup.keys + "/age-recipient.txt", "--sign-key", setup.keys + "/signing-key",
                                       "--table", "public.items", "--table", "public.tags", "-q"])
        XCTAssertEqual(third.status, 0, third.err)
        XCTAssertEqual(try setup.follow().status, 0)
        let broken = try verify(firstBase, untilArchive: third.out.trimmingCharacters(in: .whitespacesAndNewlines), setup)
        XCTAssertEqual(broken.status, 1, broken.err)
        let failures = try JSONDocument(data: broken.stdout)["failures"].array().map { try $0["location"].string() }
        XCTAssertEqual(failures, ["continuity public.tags"], broken.out)

        // A later archive without an exact position cannot be replayed to: said, exit 2.
        let plain = try PGSealCLI.run(["export", "--db", setup.url, "--to", setup.store, "--name", setup.name, "-R", setup.keys + "/age-recipient.txt",
                                       "--sign-key", setup.keys + "/signing-key", "--table", "public.items", "--table", "public.tags", "-q"])
        XCTAssertEqual(plain.status, 0, plain.err)
        let refused = try verify(firstBase, untilArchive: plain.out.trimmingCharacters(in: .whitespacesAndNewlines), setup)
        XCTAssertEqual(refused.status, 2, refused.err)
        XCTAssertTrue(refused.err.contains("exact WAL position") && refused.err.contains("--exact-position"), refused.err)
    }

    /// `diff --replay`: the live database in a temporary slot's snapshot against the base and
    /// its segments replayed to that slot's position, while the application writes and the
    /// follower seals every second; then a change the segments never saw, found by key.
    func testDiffAtAnExactPositionMatchesWhileWritesGoOnAndFindsAnUnseenChange() throws {
        let setup = try FollowTests.makeSetup("livediff", for: self)
        let service = try setup.service(["--segment-every", "1s"])
        defer { service.signal(SIGKILL) }
        XCTAssertTrue(waitUntil(timeout: 30) { (try? setup.newestBase()) != nil }, "the follower takes its base")
        let base = try setup.newestBase()
        let writer = try startWriter(setup)
        Thread.sleep(forTimeInterval: 1)
        let matched = try diff(base, setup)
        stopWriter(writer, setup)
        XCTAssertEqual(matched.status, 0, matched.err + matched.out)
        let report = try JSONDocument(data: matched.stdout)
        XCTAssertNotNil(try? report["position"].string())
        XCTAssertGreaterThan(try report["replayed"]["changes"].int(), 0, matched.out)
        let tables = try report["tables"].array()
        XCTAssertEqual(try tables.map { try $0["name"].string() }, ["public.items", "public.tags"])
        XCTAssertEqual(try tables.map { try $0["digests_equal"].bool() }, [true, true], matched.out)
        XCTAssertGreaterThan(try tables[1]["equal"].int(), 200, "the writer's tags are in both: \(matched.out)")

        // A row that reached the database but not the segments: only in the database, by key.
        let publication = try setup.server.psql("SELECT pubname FROM pg_publication", database: setup.database)
            .trimmingCharacters(in: .whitespacesAndNewlines)
        try setup.server.psql("ALTER PUBLICATION \(publication) DROP TABLE tags", database: setup.database)
        try setup.server.psql("INSERT INTO tags VALUES (7, 'never followed')", database: setup.database)
        try setup.server.psql("ALTER PUBLICATION \(publication) ADD TABLE tags", database: setup.database)
        let found = try diff(base, setup)
        XCTAssertEqual(found.status, 1, found.err + found.out)
        let tags = try JSONDocument(data: found.stdout)["tables"].array()[1]
        XCTAssertEqual(try tags["only_in_database"].int(), 1, found.out)
        XCTAssertEqual(try tags["only_in_database_keys"].array().map { try $0.string() }, ["[7,\"never followed\"]"], found.out)
        XCTAssertEqual(try tags["changed"].int() + tags["only_in_archive"].int(), 0, found.out)
        service.signal(SIGTERM)
        XCTAssertEqual(service.wait().status, 0)
        XCTAssertEqual(try setup.server.psql("SELECT count(*) FROM pg_database WHERE datname LIKE 'pgseal_verify_%'", database: "postgres")
            .trimmingCharacters(in: .whitespacesAndNewlines), "0", "no scratch database is left behind")
    }

    /// The application: small transactions on both tables, one after another, until stopped.
    private func startWriter(_ setup: FollowTests.Setup) throws -> RunningCommand {
        try Command.start(["bash", "-c", """
            while [ ! -e "$1" ]; do
              psql "$2" -X -q -v ON_ERROR_STOP=1 >/dev/null 2>&1 <<'SQL'
            UPDATE items SET price = price + 1, seen = now() WHERE id = 1 + floor(random() * 200)::int;
            INSERT INTO tags SELECT 1 + floor(random() * 200)::int, md5(random()::text);
            SQL
            done
            """, "writer", setup.work.file("stop-writing"), setup.url])
    }

    private func stopWriter(_ writer: RunningCommand, _ setup: FollowTests.Setup) {
        FileManager.default.createFile(atPath: setup.work.file("stop-writing"), contents: nil)
        XCTAssertTrue(waitUntil(timeout: 30) { !writer.process.isRunning }, "the writer stops when asked")
        _ = writer.wait()
    }

    private func diff(_ base: String, _ setup: FollowTests.Setup) throws -> CommandResult {
        try PGSealCLI.run(["diff", base, "--replay", "--db", setup.url, "--scratch-db", setup.server.url(database: "postgres"), "--wait", "60s",
                           "-i", setup.keys + "/age-identity.txt", "--trusted-key", setup.keys + "/allowed_signers", "--json"])
    }

    private func verify(_ base: String, untilArchive later: String, _ setup: FollowTests.Setup) throws -> CommandResult {
        try PGSealCLI.run(["verify", base, "--until-archive", later, "--scratch-db", setup.server.url(database: "postgres"),
                           "-i", setup.keys + "/age-identity.txt", "--trusted-key", setup.keys + "/allowed_signers", "--json"])
    }
}
