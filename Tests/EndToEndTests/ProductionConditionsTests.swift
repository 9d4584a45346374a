import Foundation
import TestSupport
import XCTest

/// Issue 25: the nightly export against a production database that keeps changing, under
/// settings a DBA chose. Each test failed against 0.4.0.
final class ProductionConditionsTests: XCTestCase {
    var server: PostgresServer!
    var store: TemporaryDirectory!

    override func setUpWithError() throws {
        server = try PostgresServer.shared()
        store = try TemporaryDirectory()
    }

    /// A database with `first` (600,000 rows: a few seconds of COPY) and `second` (small),
    /// exported in that order by one reader.
    func twoTables(_ label: String, rows: Int = 600_000) throws -> String {
        let database = try server.emptyDatabase(label: label, for: self)
        _ = try server.psql("""
            CREATE TABLE first (id int PRIMARY KEY, pad text NOT NULL);
            INSERT INTO first SELECT g, repeat(md5(g::text), 3) FROM generate_series(1, \(rows)) g;
            CREATE TABLE second (id int PRIMARY KEY, v text);
            INSERT INTO second SELECT g, 'v' || g FROM generate_series(1, 1000) g;
            ANALYZE;
            """, database: database)
        return database
    }

    func export(_ url: String, _ extra: [String] = []) throws -> RunningCommand {
        try PGSealCLI.start(["export", "--db", url, "--to", store.path, "--table", "public.first", "--table", "public.second",
                             "--name", "prod", "--jobs", "1", "--no-encrypt", "--no-sign", "--progress", "never"] + extra)
    }

    // Item 1: an ALTER TABLE on a table not yet read waits for the export's main session; the
    // reader's COPY would queue behind it, and the application's queries behind both. The
    // export gives way within its lock wait timeout, naming the table and the statement.
    func testADDLStatementWaitingForTheExportStallsTheApplicationNoLongerThanTheLockTimeout() throws {
        let database = try twoTables("ddl")
        let running = try export(server.url(database: database), ["--lock-wait-timeout", "2s"])
        defer { running.signal(SIGKILL) }
        XCTAssertTrue(try waitUntil(timeout: 60) {
            try server.psql("SELECT count(*) FROM pg_stat_activity WHERE application_name = 'pgseal' AND query LIKE 'COPY%first%' AND state = 'active'",
                            database: database).trimmingCharacters(in: .whitespacesAndNewlines) == "1"
        }, "the export never started reading first")
        let alter = try Command.start(["psql", server.url(database: database), "-X", "-q", "-v", "ON_ERROR_STOP=1",
                                       "-c", "SET lock_timeout = '60s'; ALTER TABLE second ADD COLUMN added int"])
        Thread.sleep(forTimeInterval: 0.3)
        // The application's ordinary query of that table, bounded so that a stall fails the
        // test instead of hanging it.
        let started = Date()
        let query = try Command.run(["psql", server.url(database: database), "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1",
                                     "-c", "SET lock_timeout = '30s'; SELECT count(*) FROM second"])
        let blocked = Date().timeIntervalSince(started)
        XCTAssertEqual(query.status, 0, "the application's query failed: \(query.err)")
        XCTAssertLessThan(blocked, 2 + 2.5, "the application's query was blocked \(blocked) s, more than the lock wait timeout")
        XCTAssertEqual(alter.wait().status, 0, "the ALTER TABLE did not go through")
        let result = running.wait()
        XCTAssertEqual(result.status, 2, result.err)
        XCTAssertTrue(result.err.contains("for a lock on second") && result.err.contains("ALTER TABLE second ADD COLUMN added int")
                      && result.err.contains("gave way"), result.err)
        XCTAssertEqual(ExportFixture.files(below: store.path).filter { !$0.contains("/.") }, [], "something was left under a final name")
        print("DDL against a running export: the application's query waited \(String(format: "%.2f", blocked)) s (lock wait timeout 2 s)")
    }

    // Item 3: a role whose DBA set 2-second statement and idle-in-transaction timeouts exports,
    // since the export sets its own sessions' timeouts as pg_dump does.
    func testARoleWithTwoSecondTimeoutsExports() throws {
        let database = try twoTables("timeouts", rows: 1_500_000)
        let role = "pgseal_timeouts_\(UUID().uuidString.prefix(6).lowercased())"
        _ = try server.psql("""
            CREATE ROLE \(role) LOGIN PASSWORD 'timeouts';
            ALTER ROLE \(role) SET statement_timeout = '2s';
            ALTER ROLE \(role) SET idle_in_transaction_session_timeout = '2s';
            ALTER ROLE \(role) SET lock_timeout = '1s';
            GRANT SELECT ON ALL TABLES IN SCHEMA public TO \(role);
            """, database: database)
        addTeardownBlock { [server] in
            _ = try? server?.psql("DROP OWNED BY \(role)", database: database)
            _ = try? server?.psql("DROP ROLE IF EXISTS \(role)")
        }
        let started = Date()
        let result = try export(server.url(database: database, user: role, password: "timeouts")).wait()
        let seconds = Date().timeIntervalSince(started)
        XCTAssertEqual(result.status, 0, result.err)
        XCTAssertGreaterThan(seconds, 4, "the export was too short to meet the role's timeouts: the test proves nothing")
        let archive = result.out.trimmingCharacters(in: .newlines)
        XCTAssertTrue(FileManager.default.fileExists(atPath: archive), archive)
        let inspected = try PGSealCLI.run(["inspect", archive, "--insecure-unsigned"])
        XCTAssertTrue(inspected.out.contains("1,500,000 rows"), inspected.out + inspected.err)
        print("a role with 2 s statement and idle-in-transaction timeouts: exported in \(String(format: "%.1f", seconds)) s")
    }
}
