import ByteStreams
import Foundation
import Postgres

/// A database made for one verification and dropped afterwards in every case: success,
/// failure, error, and SIGINT/SIGTERM (through the interrupt clean-up).
package final class ScratchDatabase {
    package static let namePrefix = "pgseal_verify_"
    package let name: String
    let adminURL: String
    private var interruption: Int?
    private let cleanup: CleanupRegistry?
    private var dropped = false

    /// Creates the database on the server of `adminURL` (a role with CREATEDB).
    package init(adminURL: String, cleanup: CleanupRegistry?) throws {
        self.adminURL = adminURL
        self.cleanup = cleanup
        name = Self.namePrefix + Self.stampFormatter.string(from: Date()).lowercased() + "_" + String(UInt32.random(in: 0...UInt32.max), radix: 16)
        let admin = try PostgresConnection(conninfo: adminURL)
        try admin.execute("CREATE DATABASE \(name)")
        interruption = cleanup?.addAction { [name, adminURL] in Self.drop(name, adminURL: adminURL) }
    }

    /// A session in the scratch database, each statement bounded in time (a load of a large
    /// table takes long, so the bound is generous).
    package func connect() throws -> PostgresConnection {
        let connection = try PostgresConnection(conninfo: adminURL, database: name)
        try connection.execute("SET statement_timeout = '6h'")
        return connection
    }

    /// Drops the database (terminating sessions still in it).
    package func drop() {
        guard !dropped else { return }
        dropped = true
        Self.drop(name, adminURL: adminURL)
        if let interruption { cleanup?.removeAction(interruption) }
    }

    /// Leaves the database for inspection (`--keep-scratch`).
    package func keep() {
        dropped = true
        if let interruption { cleanup?.removeAction(interruption) }
    }

    /// Drops scratch databases that killed verifications left (`kill -9` runs no clean-up):
    /// those whose name says they were made more than `grace` ago and that nobody is connected
    /// to. Returns their names; a failure to list or drop is not the verification's failure.
    package static func removeStale(adminURL: String, grace: TimeInterval = 6 * 3600, now: Date = Date()) -> [String] {
        guard let admin = try? PostgresConnection(conninfo: adminURL),
              let result = try? admin.execute(
                "SELECT datname FROM pg_database d WHERE datname LIKE 'pgseal\\_verify\\_%' AND NOT EXISTS (SELECT 1 FROM pg_stat_activity a WHERE a.datid = d.oid)")
        else { return [] }
        var removed: [String] = []
        for case let name?? in result.rows.map(\.first) {
            guard let made = createdAt(name), now.timeIntervalSince(made) > grace else { continue }
            if (try? admin.execute("DROP DATABASE IF EXISTS \(SQL.identifier(name))")) != nil { removed.append(name) }
        }
        return removed
    }

    /// The time in a scratch database's name (`pgseal_verify_20261202t163000_1a2b`), or nil for
    /// any other name.
    static func createdAt(_ name: String) -> Date? {
        guard name.hasPrefix(namePrefix) else { return nil }
        let parts = name.dropFirst(namePrefix.count).split(separator: "_")
        guard parts.count == 2, parts[0].count == 15, parts[1].allSatisfy(\.isHexDigit) else { return nil }
        return stampFormatter.date(from: parts[0].uppercased())
    }

    private static var stampFormatter: DateFormatter {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyyMMdd'T'HHmmss"
        return formatter
    }

    private static func drop(_ name: String, adminURL: String) {
        guard let admin = try? PostgresConnection(conninfo: adminURL) else { return }
        _ = try? admin.execute("DROP DATABASE IF EXISTS \(name) WITH (FORCE)")
    }
}
