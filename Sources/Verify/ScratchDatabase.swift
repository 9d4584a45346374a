import Foundation
import ObjectStore
import Postgres

/// A database made for one verification and dropped afterwards in every case: success,
/// failure, error, and SIGINT/SIGTERM (through the interrupt clean-up).
public final class ScratchDatabase {
    public static let namePrefix = "pgseal_verify_"
    public let name: String
    let adminURL: String
    private var interruption: Int?
    private var dropped = false

    /// Creates the database on the server of `adminURL` (a role with CREATEDB).
    init(adminURL: String) throws {
        self.adminURL = adminURL
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyyMMdd'T'HHmmss"
        name = Self.namePrefix + formatter.string(from: Date()).lowercased() + "_" + String(UInt32.random(in: 0...UInt32.max), radix: 16)
        let admin = try PostgresConnection(conninfo: adminURL)
        try admin.execute("CREATE DATABASE \(name)")
        interruption = InterruptCleanup.shared.addAction { [name, adminURL] in Self.drop(name, adminURL: adminURL) }
    }

    func connect() throws -> PostgresConnection {
        try PostgresConnection(conninfo: adminURL, database: name)
    }

    /// Drops the database (terminating sessions still in it).
    func drop() {
        guard !dropped else { return }
        dropped = true
        Self.drop(name, adminURL: adminURL)
        if let interruption { InterruptCleanup.shared.removeAction(interruption) }
    }

    /// Leaves the database for inspection (`--keep-scratch`).
    func keep() {
        dropped = true
        if let interruption { InterruptCleanup.shared.removeAction(interruption) }
    }

    private static func drop(_ name: String, adminURL: String) {
        guard let admin = try? PostgresConnection(conninfo: adminURL) else { return }
        _ = try? admin.execute("DROP DATABASE IF EXISTS \(name) WITH (FORCE)")
    }
}
