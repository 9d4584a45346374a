import Foundation
import TestSupport
import XCTest

/// The follower killed with SIGKILL at many moments — during its base export, while streaming,
/// while sealing — and the server crashed and restarted once, with an application writing
/// throughout: at the end, the base and its segments replayed equal the live tables at one
/// exact moment, by psql's COPY text (an oracle that is not pgseal). A change lost would show
/// as a difference; a change sealed twice as a replay conflict.
final class FollowKillTests: XCTestCase {
    func testKilledAtManyMomentsTheChainLosesNothingAndRepeatsNothing() throws {
        let work = try TemporaryDirectory()
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: work.path)
        let cluster = work.file("pg")
        let started = try Command.run([Repository.path("scripts/pgcluster.sh"), "start", cluster])
        XCTAssertEqual(started.status, 0, started.err)
        defer { _ = try? Command.run([Repository.path("scripts/pgcluster.sh"), "stop", cluster]) }
        let url = started.out.trimmingCharacters(in: .whitespacesAndNewlines)
        func psql(_ sql: String) throws -> String {
            let result = try Command.run(["psql", url, "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-c", sql])
            guard result.status == 0 else { throw TestSetupError("psql: \(result.err)") }
            return result.out
        }
        _ = try psql("""
            CREATE SEQUENCE ids;
            CREATE TABLE items (id bigint PRIMARY KEY, counter int NOT NULL, note text);
            CREATE TABLE events (item bigint, seq int, payload text, PRIMARY KEY (item, seq));
            INSERT INTO items SELECT nextval('ids'), 0, md5(g::text) FROM generate_series(1, 500) g;
            """)
        XCTAssertEqual(try PGSealCLI.run(["keygen", "--out", work.file("keys")]).status, 0)
        let store = work.file("store")
        let common = ["--db", url, "--to", store, "--name", "killed", "--table", "public.items", "--table", "public.events",
                      "-R", work.file("keys/age-recipient.txt"), "--sign-key", work.file("keys/signing-key"), "-q"]

        // The application: small transactions of every kind, now and then a large one and a
        // key change; it carries on through the server's restart.
        let writer = try Command.start(["bash", "-c", """
            while [ ! -e "$1" ]; do
              psql "$2" -X -q -v ON_ERROR_STOP=1 >/dev/null 2>&1 <<'SQL'
            BEGIN;
            INSERT INTO items SELECT nextval('ids'), 0, md5(random()::text);
            UPDATE items SET counter = counter + 1, note = md5(random()::text) WHERE id = (SELECT floor(random() * currval('ids'))::bigint + 1);
            INSERT INTO events SELECT id, counter, repeat(md5(random()::text), 3) FROM items WHERE id = (SELECT floor(random() * currval('ids'))::bigint + 1) ON CONFLICT DO NOTHING;
            DELETE FROM items WHERE id = (SELECT floor(random() * currval('ids'))::bigint + 1) AND random() < 0.3;
            UPDATE items SET id = nextval('ids') WHERE id = (SELECT floor(random() * currval('ids'))::bigint + 1) AND random() < 0.1;
            COMMIT;
            INSERT INTO items SELECT nextval('ids'), 1, repeat('x', 2000) FROM generate_series(1, (random() < 0.05)::int * 300);
            SQL
            done
            """, "writer", work.file("stop-writing"), url])

        var kills = 0
        for round in 0..<22 {
            let follower = try PGSealCLI.start(["follow", "--segment-every", "1s"] + common)
            Thread.sleep(forTimeInterval: Double.random(in: 0.2...1.6))
            follower.signal(SIGKILL)
            let ended = follower.wait()
            if ended.status != 0 && ended.status != 137 && ended.status != -9 && ended.status != 9 {
                // Not killed: it stopped on its own, which it must not do while a writer runs.
                XCTFail("round \(round): the follower exited \(ended.status): \(ended.err)")
            }
            kills += 1
            if round == 11 {
                let restarted = try Command.run([Repository.path("scripts/pgcluster.sh"), "crash-restart", cluster])
                XCTAssertEqual(restarted.status, 0, restarted.err)
            }
        }
        XCTAssertGreaterThanOrEqual(kills, 20)
        FileManager.default.createFile(atPath: work.file("stop-writing"), contents: nil)
        let stopped = waitUntil(timeout: 30) { !writer.process.isRunning }
        if !stopped { writer.signal(SIGKILL) }
        XCTAssertTrue(stopped, "the writer stops when asked")
        _ = writer.wait()
        XCTAssertGreaterThan(Int(try psql("SELECT count(*) FROM items").trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0, 600, "the writer wrote")

        // One run to the end, then the oracle at one moment: nothing writes any more.
        let last = try Command.run(["timeout", "120", Repository.pgsealBinary, "follow", "--until-caught-up", "--json"] + common)
        XCTAssertEqual(last.status, 0, last.err)
        let report = try JSONDocument(data: last.stdout)
        XCTAssertEqual(try report["breaks"].array().count, 0, "no break: \(report)")
        let base = try newestBase(in: store, profile: "killed")
        _ = try psql("CREATE DATABASE replayed")
        let replayedURL = String(url[..<(url.lastIndex(of: "/") ?? url.endIndex)]) + "/replayed"
        let restored = try PGSealCLI.run(["restore", base, "--until", "latest", "--db", replayedURL, "--create-tables",
                                          "-i", work.file("keys/age-identity.txt"), "--trusted-key", work.file("keys/allowed_signers"), "--json"])
        XCTAssertEqual(restored.status, 0, restored.err)
        let replay = try JSONDocument(data: restored.stdout)["replay"]
        XCTAssertGreaterThan(try replay["changes"].int(), 100, "the writer's changes were replayed: \(replay)")
        for query in ["items ORDER BY id", "events ORDER BY item, seq"] {
            let live = try psql("COPY (SELECT * FROM \(query)) TO STDOUT")
            let result = try Command.run(["psql", replayedURL, "-X", "-q", "-A", "-t", "-c", "COPY (SELECT * FROM \(query)) TO STDOUT"])
            XCTAssertEqual(result.status, 0, result.err)
            XCTAssertTrue(live == result.out, "\(query): the replayed table differs from the live one (\(live.count) vs \(result.out.count) bytes)")
        }
    }

    /// The base the newest segment names, read from its seal (the store's own bytes).
    func newestBase(in store: String, profile: String) throws -> String {
        let folder = store + "/" + profile + "/changes"
        let seals = (FileManager.default.enumerator(atPath: folder)?.allObjects as? [String] ?? []).filter { $0.hasSuffix(".seal") }.sorted()
        guard let newest = seals.last else { throw TestSetupError("no segment in \(folder)") }
        let seal = try JSONDocument(file: folder + "/" + newest)
        let object = try seal["changes"]["base"]["object"].string()
        let bases = (FileManager.default.enumerator(atPath: store + "/" + profile)?.allObjects as? [String] ?? []).filter { $0.hasSuffix("/" + object) }
        guard let base = bases.first else { throw TestSetupError("the base \(object) is not in the store") }
        return store + "/" + profile + "/" + base
    }
}
