import Foundation
import TestSupport
import XCTest

/// Every way an export can fail: exit code 2, a message naming the cause, nothing left under a
/// final name and no temporary file left behind.
final class ExportFailureTests: XCTestCase {
    var store: TemporaryDirectory!

    override func setUpWithError() throws {
        store = try TemporaryDirectory()
    }

    func exportFailing(_ arguments: [String], db: String? = nil, expecting fragments: [String],
                       file: StaticString = #filePath, line: UInt = #line) throws {
        let result = try PGSealCLI.run(["export", "--profile", "kessan-user-data", "--db", try db ?? ExportFixture.url(), "--to", store.path, "--no-encrypt", "--no-sign"] + arguments)
        XCTAssertEqual(result.status, 2, "stderr: \(result.err)", file: file, line: line)
        XCTAssertEqual(result.out, "", "nothing may be printed on stdout when the export fails", file: file, line: line)
        for fragment in fragments {
            XCTAssertTrue(result.err.contains(fragment), "expected «\(fragment)» in: \(result.err)", file: file, line: line)
        }
        ExportFixture.assertNothingLeft(in: store.path, file: file, line: line)
    }

    func profile(_ yaml: String) throws -> String {
        let path = store.file("../profile-\(UUID().uuidString).yaml")
        try ("profiles:\n  - name: custom\n    tables:\n" + yaml).write(toFile: path, atomically: true, encoding: .utf8)
        addTeardownBlock { try? FileManager.default.removeItem(atPath: path) }
        return path
    }

    func testUnreachableDatabase() throws {
        try exportFailing([], db: "postgres://postgres:secret-pw@127.0.0.1:1/postgres",
                          expecting: ["could not connect to PostgreSQL", "Connection refused", "check that the server is running"])
    }

    func testAuthenticationFailureDoesNotEchoThePassword() throws {
        let url = try PostgresServer.shared().url(database: ExportFixture.database(), user: "postgres", password: "wrong-secret-pw")
        let result = try PGSealCLI.run(["export", "--profile", "kessan-user-data", "--db", url, "--to", store.path, "--no-encrypt", "--no-sign"])
        XCTAssertEqual(result.status, 2)
        XCTAssertTrue(result.err.contains("password authentication failed"), result.err)
        XCTAssertFalse(result.err.contains("wrong-secret-pw"), "the password must not appear in messages: \(result.err)")
        ExportFixture.assertNothingLeft(in: store.path)
    }

    func testPermissionDeniedNamesTheTable() throws {
        let server = try PostgresServer.shared()
        let database = try ExportFixture.database()
        let role = "limited_\(UUID().uuidString.prefix(6).lowercased())"
        try server.psql("CREATE ROLE \(role) LOGIN PASSWORD 'limited-pw'", database: database)
        try server.psql("GRANT SELECT ON users, user_profiles, user_subscriptions TO \(role)", database: database)
        try exportFailing([], db: server.url(database: database, user: role, password: "limited-pw"),
                          expecting: ["permission denied", "public.user_watchlist", "grant SELECT"])
    }

    func testUnknownTableColumnBadFilterAndMissingKey() throws {
        try exportFailing(["--config", try profile("      - table: public.nope\n"), "--profile", "custom"],
                          expecting: ["table public.nope does not exist"])
        try exportFailing(["--config", try profile("      - table: users\n        columns: [id, emial]\n"), "--profile", "custom"],
                          expecting: ["has no column emial", "its columns are: id, email"])
        try exportFailing(["--config", try profile("      - table: users\n        filter: \"is_active AND\"\n        columns: [id]\n"), "--profile", "custom"],
                          expecting: ["the filter of table public.users does not work", "syntax error"])
        try exportFailing(["--config", try profile("      - table: users\n        columns: [email]\n        key: [id]\n"), "--profile", "custom"],
                          expecting: ["key column id is not among the exported columns"])
        try exportFailing(["--profile", "no-such-profile"], expecting: ["unknown profile no-such-profile", "kessan-user-data"])
    }

    func testAKeyThatIsNotUniqueIsRefused() throws {
        try exportFailing(["--config", try profile("      - table: user_watchlist\n        key: [user_id]\n"), "--profile", "custom"],
                          expecting: ["public.user_watchlist", "the key (user_id) is not unique", "appears more than once"])
    }

    func testUsageErrorsExitWithTwo() throws {
        let noEncryptChoice = try PGSealCLI.run(["export", "--profile", "kessan-user-data", "--db", try ExportFixture.url(), "--to", store.path])
        XCTAssertEqual(noEncryptChoice.status, 2)
        XCTAssertTrue(noEncryptChoice.err.contains("--no-encrypt"), noEncryptChoice.err)
        let noDestination = try PGSealCLI.run(["export", "--profile", "kessan-user-data", "--db", try ExportFixture.url(), "--no-encrypt", "--no-sign"], environment: ["PGSEAL_TO": ""])
        XCTAssertEqual(noDestination.status, 2)
        let unknownFlag = try PGSealCLI.run(["export", "--frobnicate"])
        XCTAssertEqual(unknownFlag.status, 2)
        ExportFixture.assertNothingLeft(in: store.path)
    }

    func testDiskFullLeavesNothingBehind() throws {
        guard getuid() == 0 else {
            return XCTFail("this test mounts a 1 MiB tmpfs and must run as root (as make test does on CI)")
        }
        let mount = try Command.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", store.path])
        XCTAssertEqual(mount.status, 0, "mount tmpfs failed: \(mount.err)")
        defer { _ = try? Command.run(["umount", store.path]) }
        try exportFailing(["--compression", "none"], expecting: ["No space left on device", "nothing was left under the final name"])
    }
}

/// Exports that are cut off while they run: the connection killed, the process terminated.
final class ExportInterruptionTests: XCTestCase {
    /// A database with one table large enough that its export takes seconds.
    /// A table `big` of `rows` rows of about 420 bytes of JSON each (400,000: 160 MiB).
    func bigProfile(in store: TemporaryDirectory) throws -> String {
        let path = store.file("../big-\(UUID().uuidString).yaml")
        try "profiles:\n  - name: big\n    tables:\n      - table: big\n".write(toFile: path, atomically: true, encoding: .utf8)
        addTeardownBlock { try? FileManager.default.removeItem(atPath: path) }
        return path
    }

    /// Starts an export of `big` and waits until its COPY is running on the server.
    func startBigExport(store: TemporaryDirectory, database: String) throws -> RunningCommand {
        let server = try PostgresServer.shared()
        let export = try PGSealCLI.start(["export", "--db", server.url(database: database), "--to", store.path, "--no-encrypt", "--no-sign",
                                          "--config", try bigProfile(in: store), "--profile", "big"])
        let copying = try waitUntil(timeout: 30) {
            try !server.psql("SELECT pid FROM pg_stat_activity WHERE application_name = 'pgseal' AND query LIKE 'COPY%' AND state = 'active'",
                             database: database).isEmpty
        }
        XCTAssertTrue(copying, "the export's COPY never showed up in pg_stat_activity")
        // And its output is being written: a partial file exists, so that cleanup has work to do.
        let writing = waitUntil(timeout: 30) { ExportFixture.files(below: store.path).contains { $0.contains(".partial-") } }
        XCTAssertTrue(writing, "the export never started writing its archive")
        return export
    }

    func testConnectionKilledMidExport() throws {
        let server = try PostgresServer.shared()
        let database = try PostgresServer.bigDatabase()
        let store = try TemporaryDirectory()
        let export = try startBigExport(store: store, database: database)
        try server.psql("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'pgseal' AND query LIKE 'COPY%'", database: database)
        let result = export.wait()
        XCTAssertEqual(result.status, 2, result.err)
        XCTAssertTrue(result.err.contains("public.big") && result.err.contains("terminat"), result.err)
        XCTAssertEqual(result.out, "")
        ExportFixture.assertNothingLeft(in: store.path)
    }

    func testTerminatedProcessLeavesNothingBehind() throws {
        let database = try PostgresServer.bigDatabase()
        let store = try TemporaryDirectory()
        let export = try startBigExport(store: store, database: database)
        export.signal(SIGTERM)
        let result = export.wait()
        XCTAssertEqual(result.status, 128 + SIGTERM, result.err)
        XCTAssertTrue(result.err.contains("interrupted"), result.err)
        ExportFixture.assertNothingLeft(in: store.path)
    }
}
