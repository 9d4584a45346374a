import ByteStreams
import Foundation
import ObjectStore
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
        // The default lock wait timeout (10 s): the same test runs against a pgseal without the option.
        let running = try export(server.url(database: database))
        defer { running.signal(SIGKILL) }
        XCTAssertTrue(try waitUntil(timeout: 60) {
            // PostgreSQL's parallel workers of the sort show the same query: any of them.
            try server.psql("SELECT count(*) > 0 FROM pg_stat_activity WHERE application_name = 'pgseal' AND query LIKE 'COPY%first%' AND state = 'active'",
                            database: database).trimmingCharacters(in: .whitespacesAndNewlines) == "t"
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
        XCTAssertLessThan(blocked, 10 + 2.5, "the application's query was blocked \(blocked) s, more than the lock wait timeout")
        XCTAssertEqual(alter.wait().status, 0, "the ALTER TABLE did not go through")
        let result = running.wait()
        XCTAssertEqual(result.status, 2, result.err)
        XCTAssertTrue(result.err.contains("for a lock on second") && result.err.contains("ALTER TABLE second ADD COLUMN added int")
                      && result.err.contains("gave way"), result.err)
        XCTAssertEqual(ExportFixture.files(below: store.path).filter { !$0.contains("/.") }, [], "something was left under a final name")
        print("DDL against a running export: the application's query waited \(String(format: "%.2f", blocked)) s (lock wait timeout 10 s)")
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
        XCTAssertGreaterThan(seconds, 2.5, "the export was too short to meet the role's timeouts: the test proves nothing")
        let archive = result.out.trimmingCharacters(in: .newlines)
        XCTAssertTrue(FileManager.default.fileExists(atPath: archive), archive)
        let inspected = try PGSealCLI.run(["inspect", archive, "--insecure-unsigned"])
        XCTAssertTrue(inspected.out.contains("1,500,000 rows"), inspected.out + inspected.err)
        print("a role with 2 s statement and idle-in-transaction timeouts: exported in \(String(format: "%.1f", seconds)) s")
    }

    /// The command's result, or nil when it has not ended within `timeout`.
    static func result(of running: RunningCommand, waitingAtMost timeout: TimeInterval) -> CommandResult? {
        let result = Locked<CommandResult?>(nil)
        let waiter = Thread { let ended = running.wait(); result.withLock { $0 = ended } }
        waiter.start()
        _ = waitUntil(timeout: timeout) { result.withLock { $0 != nil } }
        return result.withLock { $0 }
    }

    /// The database URL through a TCP proxy that turns into a black hole when `switchFile` appears.
    func throughBlackhole(_ url: String, switchFile: String) throws -> (url: String, proxy: LoopbackServer) {
        guard let match = url.range(of: #"@127\.0\.0\.1:[0-9]+/"#, options: .regularExpression) else { throw TestSetupError("no port in \(url)") }
        let port = url[match].dropFirst("@127.0.0.1:".count).dropLast()
        let proxy = try LoopbackServer(script: "Tests/EndToEndTests/Blackhole/tcp_blackhole.py", arguments: ["127.0.0.1", String(port), switchFile])
        return (url.replacingCharacters(in: match, with: "@127.0.0.1:\(proxy.port)/"), proxy)
    }

    /// Waits until the export's COPY of `first` runs, seen from the server directly.
    func waitForCopy(in database: String) throws {
        XCTAssertTrue(try waitUntil(timeout: 60) {
            // PostgreSQL's parallel workers of the sort show the same query: any of them.
            try server.psql("SELECT count(*) > 0 FROM pg_stat_activity WHERE application_name = 'pgseal' AND query LIKE 'COPY%first%' AND state = 'active'",
                            database: database).trimmingCharacters(in: .whitespacesAndNewlines) == "t"
        }, "the export never started reading first")
    }

    // Item 4: the database connection black-holed mid-export (no reset, no FIN): SIGTERM ends
    // pgseal within seconds — its cancel request, which would wait for the server forever, is
    // bounded — and nothing is left under a final name.
    func testSIGTERMDuringASilentPartitionEndsTheExportWithinSeconds() throws {
        let database = try twoTables("partition", rows: 1_500_000)
        let switchFile = store.file("../blackhole-\(UUID().uuidString)")
        let (url, proxy) = try throughBlackhole(server.url(database: database), switchFile: switchFile)
        let running = try export(url)
        defer { running.signal(SIGKILL) }
        try waitForCopy(in: database)
        FileManager.default.createFile(atPath: switchFile, contents: nil)
        Thread.sleep(forTimeInterval: 2)
        let started = Date()
        running.signal(SIGTERM)
        let result = Self.result(of: running, waitingAtMost: 30)
        let seconds = Date().timeIntervalSince(started)
        XCTAssertNotNil(result, "pgseal did not end within 30 s of SIGTERM")
        XCTAssertLessThan(seconds, 10, "pgseal took \(seconds) s to end after SIGTERM")
        XCTAssertEqual(result?.status, 128 + SIGTERM, result?.err ?? "")
        XCTAssertEqual(ExportFixture.files(below: store.path).filter { !$0.contains("/.") }, [], "something was left under a final name")
        print("SIGTERM during a black-holed connection: ended in \(String(format: "%.1f", seconds)) s")
        _ = proxy
    }

    // Item 4: a connection that stays open but carries nothing is a stall (exit 2), not a hang.
    func testASilentPartitionIsAStallNotAHang() throws {
        let database = try twoTables("stall", rows: 1_500_000)
        let switchFile = store.file("../blackhole-\(UUID().uuidString)")
        let (url, proxy) = try throughBlackhole(server.url(database: database), switchFile: switchFile)
        let running = try export(url, ["--stall-timeout", "3s"])
        defer { running.signal(SIGKILL) }
        try waitForCopy(in: database)
        FileManager.default.createFile(atPath: switchFile, contents: nil)
        let started = Date()
        let result = Self.result(of: running, waitingAtMost: 60)
        let seconds = Date().timeIntervalSince(started)
        XCTAssertNotNil(result, "pgseal hung on a silent connection for 60 s")
        XCTAssertEqual(result?.status, 2, result?.err ?? "")
        XCTAssertTrue(result?.err.contains("no data from the database for 3 s") ?? false, result?.err ?? "")
        XCTAssertLessThan(seconds, 20)
        XCTAssertEqual(ExportFixture.files(below: store.path).filter { !$0.contains("/.") }, [], "something was left under a final name")
        print("a black-holed connection with --stall-timeout 3s: exit \(result?.status ?? -1) after \(String(format: "%.1f", seconds)) s")
        _ = proxy
    }
}

/// Issue 25, item 7: one RequestTimeTooSkewed does not fail the nightly run.
final class ClockSkewTests: XCTestCase {
    func testAClockOffS3sIsCorrectedOnceAndLogged() throws {
        let skewed = try HostileS3(mode: "skewed")
        let listed = try PGSealCLI.run(["list", "s3://bucket/pfx/"], environment: skewed.environment)
        XCTAssertEqual(listed.status, 0, listed.err)
        XCTAssertTrue((listed.err.contains("clock is -7200 s off S3's") || listed.err.contains("clock is -7199 s off S3's")) && listed.err.contains("NTP"), listed.err)
        XCTAssertLessThanOrEqual(try skewed.requests(), 4, "more than one correction")
        // A Date header ten years away is not believed: the refusal stands, with its advice.
        let far = try HostileS3(mode: "skewed-far")
        let refused = try PGSealCLI.run(["list", "s3://bucket/pfx/"], environment: far.environment)
        XCTAssertEqual(refused.status, 2, refused.err)
        XCTAssertTrue(refused.err.contains("RequestTimeTooSkewed") && refused.err.contains("synchronise it (NTP)") && refused.err.contains("not believed"), refused.err)
    }
}

/// Issue 25, item 2: two exports of one profile in the same second must leave two archives.
final class ConcurrentExportTests: XCTestCase {
    // Two exports started together, three times: every archive is there and verifies, and the
    // series shows the concurrent ones as a fork, never a lost archive.
    func testConcurrentExportsToS3LeaveEveryArchive() throws {
        let s3 = try S3Server.shared()
        let bucket = try s3.makeBucket()
        let keys = try TemporaryDirectory()
        XCTAssertEqual(try PGSealCLI.run(["keygen", "--out", keys.path]).status, 0)
        let store = "s3://\(bucket)/p/"
        var archives: [String] = []
        for _ in 0..<3 {
            let pair = try (0..<2).map { _ in
                try PGSealCLI.start(["export", "--profile", "kessan-user-data", "--db", try ExportFixture.url(), "--to", store,
                                     "-R", keys.file("age-recipient.txt"), "--sign-key", keys.file("signing-key"), "--progress", "never"],
                                    environment: s3.environment())
            }
            for running in pair {
                let result = running.wait()
                XCTAssertEqual(result.status, 0, result.err)
                archives.append(result.out.trimmingCharacters(in: .newlines))
            }
        }
        XCTAssertEqual(Set(archives).count, 6, "two exports took one name: \(archives)")
        let listed = try PGSealCLI.run(["list", store, "--json", "--trusted-key", keys.file("allowed_signers")], environment: s3.environment())
        let sealed = try JSONDocument(data: listed.stdout)["sealed"].array().map { try $0["location"].string() }
        XCTAssertEqual(Set(sealed), Set(archives), "the bucket does not hold every archive")
        for archive in archives {
            let verified = try PGSealCLI.run(["verify", archive, "--level", "seal", "--trusted-key", keys.file("allowed_signers")], environment: s3.environment())
            XCTAssertEqual(verified.status, 0, verified.out + verified.err)
        }
        let chain = try PGSealCLI.run(["chain", store, "--trusted-key", keys.file("allowed_signers")], environment: s3.environment())
        XCTAssertTrue(chain.status == 0, chain.out + chain.err)
        print("six exports in three concurrent pairs: six archives; chain: \(chain.out.split(separator: "\n").first ?? "")")
    }

    // The store's own guard, when two writers do draw one name: S3's conditional write refuses
    // the second (If-None-Match: *), for a single-part and a multipart object alike.
    func testAnObjectUnderAnExistingNameIsNeverReplaced() throws {
        let s3 = try S3Server.shared()
        let bucket = try s3.makeBucket()
        let location = try S3Location(url: "s3://\(bucket)/", endpoint: s3.endpoint, region: "us-east-1")
        let client = try S3Client(location: location, credentials: AWSCredentialProvider(.init(accessKeyID: s3.accessKeyID, secretAccessKey: s3.secretAccessKey)))
        let store = S3Store(client: client, partSize: 5 << 20)
        for (key, size) in [("small.tar", 1000), ("large.tar", 12 << 20)] {
            // The name is free when the writer starts; another writer's object lands before it ends.
            let writer = try store.createObject(key: key)
            _ = try s3.boto("s3.put_object(Bucket='\(bucket)', Key='\(key)', Body=b'first')")
            let body = [UInt8](repeating: 0x61, count: size)
            try body.withUnsafeBytes { try writer.write($0) }
            XCTAssertThrowsError(try writer.close(), key) { error in
                XCTAssertTrue("\(error)".contains("already exists"), "\(error)")
            }
            XCTAssertEqual(try s3.boto("print(s3.get_object(Bucket='\(bucket)', Key='\(key)')['Body'].read())").trimmingCharacters(in: .whitespacesAndNewlines),
                           "b'first'", "\(key) was replaced")
            XCTAssertTrue(try store.pendingUploads(under: "").isEmpty, "the refused upload was left open")
        }
    }
}

/// Issue 25, item 5: exporting from a hot standby, under write load on the primary.
final class StandbyExportTests: XCTestCase {
    func testAStandbyExportNamesTheSettingsAndTheirCosts() throws {
        let begun = Date()
        func mark(_ what: String) { print("standby test: \(what) at \(String(format: "%.1f", Date().timeIntervalSince(begun))) s") }
        let work = try TemporaryDirectory("pgseal-standby")
        _ = try Command.run(["chmod", "755", work.path])
        let primary = work.file("primary")
        let standby = work.file("standby")
        let started = try Command.run([Repository.path("scripts/pgcluster.sh"), "start", primary])
        XCTAssertEqual(started.status, 0, "PostgreSQL could not be started: \(started.err)")
        defer { _ = try? Command.run([Repository.path("scripts/pgcluster.sh"), "stop", standby]) }
        defer { _ = try? Command.run([Repository.path("scripts/pgcluster.sh"), "stop", primary]) }
        let primaryURL = started.out.trimmingCharacters(in: .whitespacesAndNewlines)
        mark("primary started")
        func on(_ url: String, database: String = "prod") -> String { String(url[..<(url.lastIndex(of: "/") ?? url.endIndex)]) + "/" + database }
        func psql(_ url: String, _ sql: String) throws -> CommandResult {
            try Command.run(["psql", url, "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-c", sql])
        }
        XCTAssertEqual(try psql(primaryURL, "CREATE DATABASE prod").status, 0)
        XCTAssertEqual(try psql(on(primaryURL), """
            CREATE TABLE first (id int PRIMARY KEY, pad text NOT NULL);
            INSERT INTO first SELECT g, repeat(md5(g::text), 3) FROM generate_series(1, 1500000) g;
            CREATE TABLE second (id int PRIMARY KEY); ANALYZE;
            """).status, 0)
        mark("primary loaded")
        let made = try Command.run([Repository.path("scripts/pgcluster.sh"), "standby", primary, standby,
                                    "max_standby_streaming_delay=1s", "hot_standby_feedback=off"])
        XCTAssertEqual(made.status, 0, "the standby could not be started: \(made.err)")
        let standbyURL = made.out.trimmingCharacters(in: .whitespacesAndNewlines)
        mark("standby started")
        let store = try TemporaryDirectory()

        // Under write load on the primary (rows updated and vacuumed while the export reads).
        func exportWhileThePrimaryVacuums() throws -> CommandResult {
            let clock = Date()
            defer { print("standby export: \(String(format: "%.1f", Date().timeIntervalSince(clock))) s") }
            let running = try PGSealCLI.start(["export", "--db", on(standbyURL), "--to", store.path, "--table", "public.first", "--table", "public.second",
                                               "--name", "standby", "--no-encrypt", "--no-sign", "--progress", "never"])
            _ = waitUntil(timeout: 30) {
                (try? psql(on(standbyURL), "SELECT count(*) > 0 FROM pg_stat_activity WHERE query LIKE 'COPY%first%' AND state = 'active'").out
                    .trimmingCharacters(in: .whitespacesAndNewlines)) == "t"
            }
            for round in 0..<3 {
                _ = try psql(on(primaryURL), "UPDATE first SET pad = pad || 'r\(round)' WHERE id <= 20000")
                _ = try psql(on(primaryURL), "VACUUM first")
                Thread.sleep(forTimeInterval: 0.5)
            }
            return running.wait()
        }

        let cancelled = try exportWhileThePrimaryVacuums()
        XCTAssertEqual(cancelled.status, 2, cancelled.err)
        XCTAssertTrue(cancelled.err.contains("exporting from a hot standby with max_standby_streaming_delay = 1s and hot_standby_feedback = off"), cancelled.err)
        XCTAssertTrue(cancelled.err.contains("conflict with recovery") && cancelled.err.contains("hot_standby_feedback = on")
                      && cancelled.err.contains("max_standby_streaming_delay = -1") && cancelled.err.contains("Export from the primary"), cancelled.err)
        XCTAssertEqual(ExportFixture.files(below: store.path).filter { !$0.contains("/.") }, [], "something was left under a final name")

        // With feedback, the same load: the export succeeds, and says what it costs the primary.
        XCTAssertEqual(try psql(standbyURL, "ALTER SYSTEM SET hot_standby_feedback = on").status, 0)
        XCTAssertEqual(try psql(standbyURL, "SELECT pg_reload_conf()").status, 0)
        Thread.sleep(forTimeInterval: 1)
        let exported = try exportWhileThePrimaryVacuums()
        XCTAssertEqual(exported.status, 0, exported.err)
        XCTAssertTrue(exported.err.contains("the primary keeps dead rows while the export runs"), exported.err)
        mark("done")
    }
}
