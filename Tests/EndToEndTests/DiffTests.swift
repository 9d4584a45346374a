import Foundation
import TestSupport
import XCTest

/// `pgseal diff` must find exactly the planted differences, on all four tables, and none when
/// there are none.
final class DiffTests: XCTestCase {
    func testFindsExactlyThePlantedDifferences() throws {
        let server = try PostgresServer.shared()
        let database = try server.fixtureDatabase(users: 300, label: "diff", for: self)
        let keys = try TemporaryDirectory()
        XCTAssertEqual(try PGSealCLI.run(["keygen", "--out", keys.path]).status, 0)
        let store = try TemporaryDirectory()
        let config = try ExportFixture.everythingConfig(in: store)
        let exported = try PGSealCLI.run(["export", "--db", server.url(database: database), "--to", store.path,
                                          "--config", config, "--profile", "everything", "--jobs", "2",
                                          "--recipients-file", keys.file("age-recipient.txt"), "--sign-key", keys.file("signing-key")])
        XCTAssertEqual(exported.status, 0, exported.err)
        let archive = exported.out.trimmingCharacters(in: .newlines)
        func diff() throws -> (CommandResult, [String: JSONDocument]) {
            let report = store.file("diff-\(UUID().uuidString).json")
            let result = try PGSealCLI.run(["diff", archive, "--db", server.url(database: database), "-i", keys.file("age-identity.txt"), "--trusted-key", keys.file("allowed_signers"),
                                            "--report", report, "--show", "5"])
            return (result, try JSONDocument(file: report)["tables"].keyed(by: "name"))
        }

        let (clean, cleanTables) = try diff()
        XCTAssertEqual(clean.status, 0, clean.out + clean.err)
        XCTAssertTrue(clean.out.contains("no difference"), clean.out)
        XCTAssertEqual(try cleanTables["public.user_watchlist"]?["equal"].int(), 1504)

        let user = "00000000-0000-4000-8000-000000000002"
        let edge = "00000000-0000-4000-8000-000000000001"
        try server.psql("""
            UPDATE users SET email = 'moved@example.com' WHERE id = md5('user7')::uuid;
            UPDATE users SET updated_at = updated_at + interval '1 microsecond' WHERE id = '\(user)';
            DELETE FROM user_subscriptions WHERE id = (SELECT min(id) FROM user_subscriptions WHERE status = 'active');
            UPDATE user_profiles SET display_name = 'Investor 11' || E'\\u0301' WHERE user_id = md5('user11')::uuid;
            UPDATE user_watchlist SET notes = 'was null' WHERE user_id = '\(edge)' AND ticker = 'NUL';
            INSERT INTO user_watchlist VALUES ('\(edge)', 'ZZZZ', NULL, '2026-11-24 00:00:00+00');
            UPDATE users SET is_active = false WHERE id = md5('user13')::uuid;
            INSERT INTO edge_values (id, label) VALUES (100, 'new');
            """, database: database)
        let (found, tables) = try diff()
        XCTAssertEqual(found.status, 1, found.out + found.err)
        func counts(_ name: String) throws -> [Int] {
            let table = try XCTUnwrap(tables[name], "no table \(name) in the report")
            return try ["equal", "changed", "only_in_archive", "only_in_database"].map { try table[$0].int() }
        }
        func keyList(_ name: String, _ field: String) throws -> [String] { try XCTUnwrap(tables[name], name)[field].strings() }
        // users (all of them in this profile, is_active a column): an email changed, a timestamp
        // moved by 1 µs, a user deactivated.
        let users = try XCTUnwrap(cleanTables["public.users"])["equal"].int()
        XCTAssertEqual(try counts("public.users"), [users - 3, 3, 0, 0])
        func uuid(_ seed: String) throws -> String {
            try server.psql("SELECT md5('\(seed)')::uuid", database: database).trimmingCharacters(in: .whitespacesAndNewlines)
        }
        XCTAssertEqual(Set(try keyList("public.users", "changed_keys")),
                       Set(["[\"\(user)\"]", "[\"\(try uuid("user7"))\"]", "[\"\(try uuid("user13"))\"]"]))
        XCTAssertEqual(try counts("public.user_profiles"), [try XCTUnwrap(cleanTables["public.user_profiles"])["equal"].int() - 1, 1, 0, 0])
        XCTAssertEqual(try counts("public.user_watchlist"), [1503, 1, 0, 1])
        XCTAssertEqual(try keyList("public.user_watchlist", "only_in_database_keys"), ["[\"\(edge)\",\"ZZZZ\"]"])
        XCTAssertEqual(try keyList("public.user_watchlist", "changed_keys"), ["[\"\(edge)\",\"NUL\"]"])
        XCTAssertEqual(try counts("public.user_subscriptions")[1...], [0, 1, 0])
        XCTAssertEqual(try counts("public.edge_values"), [7, 0, 0, 1])
        XCTAssertEqual(try keyList("public.edge_values", "only_in_database_keys"), ["[100]"])
        XCTAssertEqual(try counts("public.empty_table"), [0, 0, 0, 0])
        XCTAssertTrue(found.out.contains("DIFFERENCES FOUND"), found.out)
    }

    func testTablesWithoutAKeyAreComparedAsMultisets() throws {
        let server = try PostgresServer.shared()
        let database = try server.fixtureDatabase(users: 50, label: "keyless", for: self)
        let store = try TemporaryDirectory()
        try "profiles:\n  - name: keyless\n    tables:\n      - table: edge_values\n        key: []\n".write(toFile: store.file("p.yaml"), atomically: true, encoding: .utf8)
        let exported = try PGSealCLI.run(["export", "--db", server.url(database: database), "--to", store.path, "--no-encrypt", "--no-sign",
                                          "--config", store.file("p.yaml"), "--profile", "keyless"])
        XCTAssertEqual(exported.status, 0, exported.err)
        let archive = exported.out.trimmingCharacters(in: .newlines)
        let same = try PGSealCLI.run(["diff", archive, "--db", server.url(database: database), "--insecure-unsigned"])
        XCTAssertEqual(same.status, 0, same.out + same.err)
        XCTAssertTrue(same.out.contains("(no key): 7 rows in the archive, 7 in the database, same rows"), same.out)
        try server.psql("UPDATE edge_values SET label = 'other' WHERE id = 1", database: database)
        let changed = try PGSealCLI.run(["diff", archive, "--db", server.url(database: database), "--insecure-unsigned"])
        XCTAssertEqual(changed.status, 1, changed.out + changed.err)
        XCTAssertTrue(changed.out.contains("rows differ"), changed.out)
    }

    /// Duplicates count: one row of three identical ones gone, or one identical row more, is a
    /// difference, even when the number of rows stays the same.
    func testDuplicateRowsOfAKeylessTableAreCounted() throws {
        let server = try PostgresServer.shared()
        let database = try server.emptyDatabase(label: "duplicates", for: self)
        try server.psql("""
            CREATE TABLE events (kind text, amount integer);
            INSERT INTO events VALUES ('a', 1), ('a', 1), ('a', 1), ('b', 2), (NULL, NULL), (NULL, NULL);
            """, database: database)
        let store = try TemporaryDirectory()
        try ExportedTable.config(profile: "events", tables: [ExportedTable("public.events", key: [])], at: store.file("p.yaml"))
        let exported = try PGSealCLI.run(["export", "--db", server.url(database: database), "--to", store.path, "--no-encrypt", "--no-sign",
                                          "--config", store.file("p.yaml"), "--profile", "events"])
        XCTAssertEqual(exported.status, 0, exported.err)
        let archive = exported.out.trimmingCharacters(in: .newlines)
        let extracted = try ExtractedArchive(archive: archive)
        try Oracle.compareToJsonb(extracted, database: server.url(database: database), tables: [ExportedTable("public.events", key: [])])
        func diff() throws -> CommandResult {
            try PGSealCLI.run(["diff", archive, "--db", server.url(database: database), "--insecure-unsigned"])
        }
        let same = try diff()
        XCTAssertEqual(same.status, 0, same.out + same.err)
        XCTAssertTrue(same.out.contains("6 rows in the archive, 6 in the database, same rows"), same.out)
        // One of the three 'a' rows becomes a second 'b': six rows either way, other multisets.
        try server.psql("UPDATE events SET kind = 'b', amount = 2 WHERE ctid = (SELECT min(ctid) FROM events WHERE kind = 'a')", database: database)
        let swapped = try diff()
        XCTAssertEqual(swapped.status, 1, swapped.out + swapped.err)
        XCTAssertTrue(swapped.out.contains("rows differ"), swapped.out)
        // One NULL row fewer.
        try server.psql("UPDATE events SET kind = 'a', amount = 1 WHERE kind = 'b' AND ctid = (SELECT max(ctid) FROM events WHERE kind = 'b');"
                        + "DELETE FROM events WHERE ctid = (SELECT min(ctid) FROM events WHERE kind IS NULL)", database: database)
        let fewer = try diff()
        XCTAssertEqual(fewer.status, 1, fewer.out + fewer.err)
    }

    /// A key declared in another order than the table's columns: (ticker, user_id) over
    /// columns (user_id, ticker, …). The diff reads the key in key order and finds nothing.
    func testAKeyInAnotherOrderThanTheColumnsIsReadInKeyOrder() throws {
        let server = try PostgresServer.shared()
        let database = try ExportFixture.database()
        let store = try TemporaryDirectory()
        try ExportedTable.config(profile: "by-ticker", tables: [ExportedTable("public.user_watchlist", key: ["ticker", "user_id"])], at: store.file("p.yaml"))
        let exported = try PGSealCLI.run(["export", "--db", server.url(database: database), "--to", store.path, "--no-encrypt", "--no-sign",
                                          "--config", store.file("p.yaml"), "--profile", "by-ticker"])
        XCTAssertEqual(exported.status, 0, exported.err)
        let diff = try PGSealCLI.run(["diff", exported.out.trimmingCharacters(in: .newlines), "--db", server.url(database: database), "--insecure-unsigned"])
        XCTAssertEqual(diff.status, 0, diff.out + diff.err)
        XCTAssertTrue(diff.out.contains("no difference"), diff.out)
    }
}
