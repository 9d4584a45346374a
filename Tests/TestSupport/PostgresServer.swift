import Foundation

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
        url = String(url[..<url.lastIndex(of: "/")!]) + "/" + name
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

    /// Creates a database with a unique name loaded with the fixture of `users` users.
    public func fixtureDatabase(users: Int, label: String = "t") throws -> String {
        let name = "\(label)_\(UUID().uuidString.prefix(8).lowercased())"
        let result = try Command.run([Repository.path("scripts/load-fixtures.sh"), superuserURL, name, String(users)])
        guard result.status == 0 else { throw TestSetupError("loading the fixture failed: \(result.err)") }
        return name
    }
}
