import Foundation
import XCTest

/// The throwaway PostgreSQL 15 cluster of a test run, started once through
/// scripts/pgcluster.sh (the mechanism `make demo` uses) and stopped when the process exits.
/// If it cannot start, every test that needs it fails with the reason: none is skipped.
public final class PostgresServer: @unchecked Sendable {
    public let superuserURL: String
    public let directory: String
    private static let service = SharedService(start: { try PostgresServer() }, stop: { server in
        _ = try? Command.run([Repository.path("scripts/pgcluster.sh"), "stop", server.directory])
    })

    public static func shared() throws -> PostgresServer { try service.get() }

    private init() throws {
        directory = try TemporaryDirectory("pgseal-test-pg").path
        let result = try Command.run([Repository.path("scripts/pgcluster.sh"), "start", directory])
        guard result.status == 0 else {
            throw TestSetupError("PostgreSQL could not be started by scripts/pgcluster.sh (exit \(result.status)): \(result.err)")
        }
        superuserURL = result.out.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// The URL of database `name` as `user` (the superuser when nil).
    public func url(database name: String, user: String? = nil, password: String? = nil) -> String {
        var url = superuserURL
        url = String(url[..<(url.lastIndex(of: "/") ?? url.endIndex)]) + "/" + name
        if let user {
            let credentials = password.map { "\(user):\($0)" } ?? user
            url = url.replacingOccurrences(of: "postgres:pgseal-test@", with: "\(credentials)@")
        }
        return url
    }

    /// Runs SQL with psql and returns its unaligned, tuples-only output.
    @discardableResult
    public func psql(_ sql: String, database: String = "postgres") throws -> String {
        let result = try Command.run(["psql", url(database: database), "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-c", sql])
        guard result.status == 0 else { throw TestSetupError("psql failed: \(result.err) for: \(sql)") }
        return result.out
    }

    /// Creates a database with a unique name loaded with the fixture of `users` users; with
    /// `test`, it is dropped when that test ends.
    public func fixtureDatabase(users: Int, label: String = "t", for test: XCTestCase? = nil) throws -> String {
        let name = "\(label)_\(UUID().uuidString.prefix(8).lowercased())"
        let result = try Command.run([Repository.path("scripts/load-fixtures.sh"), superuserURL, name, String(users)])
        guard result.status == 0 else { throw TestSetupError("loading the fixture failed: \(result.err)") }
        if let test { dropAfter(test, name) }
        return name
    }

    /// An empty database with a unique name, dropped when `test` ends.
    public func emptyDatabase(label: String, for test: XCTestCase) throws -> String {
        let name = "\(label)_\(UUID().uuidString.prefix(8).lowercased())"
        try psql("CREATE DATABASE \(name)")
        dropAfter(test, name)
        return name
    }

    private func dropAfter(_ test: XCTestCase, _ name: String) {
        test.addTeardownBlock { [self] in
            // A logical slot keeps its database from being dropped: the follower tests' go first.
            _ = waitUntil(timeout: 10) {
                _ = try? self.psql("SELECT pg_terminate_backend(active_pid) FROM pg_replication_slots WHERE database = '\(name)' AND active_pid IS NOT NULL")
                _ = try? self.psql("SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE database = '\(name)' AND NOT active")
                return (try? self.psql("SELECT count(*) FROM pg_replication_slots WHERE database = '\(name)'"))?.trimmingCharacters(in: .whitespacesAndNewlines) == "0"
            }
            _ = try? self.psql("DROP DATABASE IF EXISTS \(name) WITH (FORCE)")
        }
    }

    /// The table `big` (integer key, 384-byte text payload) of `rows` rows, created once per
    /// test run and shared by the tests that only read it: long COPYs to interrupt, and objects
    /// large enough for multipart uploads (400,000 rows: about 160 MiB of JSON Lines).
    public static func bigDatabase(rows: Int = 400_000) throws -> String {
        try bigDatabaseLock.withLock { () -> SharedService<String> in
            if let service = bigDatabases[rows] { return service }
            let service = SharedService<String>(start: {
                let server = try PostgresServer.shared()
                let name = "big_\(rows)"
                try server.psql("CREATE DATABASE \(name)")
                try server.psql("""
                    CREATE TABLE big (id integer PRIMARY KEY, payload text);
                    INSERT INTO big SELECT i, repeat(md5(i::text), 12) FROM generate_series(1, \(rows)) AS i;
                    """, database: name)
                return name
            }, stop: { _ in })
            bigDatabases[rows] = service
            return service
        }.get()
    }

    private static let bigDatabaseLock = NSLock()
    nonisolated(unsafe) private static var bigDatabases: [Int: SharedService<String>] = [:]
}

/// An oracle for restores that is not pgseal: PostgreSQL itself compares the restored tables
/// with the source's, reached through postgres_fdw, as multisets of each row's text (EXCEPT ALL
/// both ways, so that a duplicated row never stands in for a missing one).
extension PostgresServer {
    /// One line per table that differs ("T: n rows only in the restored table, m only in the
    /// source"); empty when every table holds exactly the source's rows.
    public func rowsDiffering(restored: String, source: String, tables: [ExportedTable]) throws -> [String] {
        guard let url = URLComponents(string: superuserURL), let host = url.host, let port = url.port,
              let user = url.user, let password = url.password else {
            throw TestSetupError("cannot read the server's URL \(superuserURL)")
        }
        try psql("""
            CREATE EXTENSION IF NOT EXISTS postgres_fdw;
            DROP SCHEMA IF EXISTS oracle_source CASCADE;
            DROP SERVER IF EXISTS oracle_source CASCADE;
            CREATE SERVER oracle_source FOREIGN DATA WRAPPER postgres_fdw OPTIONS (host '\(host)', port '\(port)', dbname '\(source)');
            CREATE USER MAPPING FOR CURRENT_USER SERVER oracle_source OPTIONS (user '\(user)', password '\(password)');
            CREATE SCHEMA oracle_source;
            IMPORT FOREIGN SCHEMA public FROM SERVER oracle_source INTO oracle_source;
            """, database: restored)
        var differences: [String] = []
        for table in tables {
            let name = String(table.table.split(separator: ".").last ?? "")
            let columns = try table.columns.map { $0.map { "\"\($0)\"" }.joined(separator: ", ") } ?? psql("""
                SELECT string_agg(quote_ident(attname), ', ' ORDER BY attnum) FROM pg_attribute
                WHERE attrelid = 'public.\(name)'::regclass AND attnum > 0 AND NOT attisdropped
                """, database: restored).trimmingCharacters(in: .whitespacesAndNewlines)
            let restoredRows = "SELECT ROW(\(columns))::text FROM public.\(name)"
            let sourceRows = "SELECT ROW(\(columns))::text FROM oracle_source.\(name)" + (table.filter.map { " WHERE \($0)" } ?? "")
            let counts = try psql("""
                SELECT (SELECT count(*) FROM (\(restoredRows) EXCEPT ALL \(sourceRows)) a) || ' ' ||
                       (SELECT count(*) FROM (\(sourceRows) EXCEPT ALL \(restoredRows)) b) || ' ' ||
                       (SELECT count(*) FROM public.\(name))
                """, database: restored).split(separator: " ").map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }
            guard counts.count == 3 else { throw TestSetupError("unexpected answer comparing \(name): \(counts)") }
            if counts[0] != "0" || counts[1] != "0" {
                differences.append("\(table.table): \(counts[0]) rows only in the restored table, \(counts[1]) only in the source")
            }
        }
        try psql("DROP SCHEMA oracle_source CASCADE; DROP SERVER oracle_source CASCADE", database: restored)
        return differences
    }
}
