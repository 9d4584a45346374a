import Foundation
import Postgres

/// The sessions that read a database in one snapshot — an export's coordinator and readers, a
/// diff's reader — set up the same way, whatever the role's defaults say (as pg_dump does for
/// its own): no statement timeout (a COPY of a large table is one statement), no
/// idle-in-transaction or idle-session timeout (the main session idles in its transaction while
/// readers work), and a lock timeout for the locks it takes itself.
package enum SnapshotSession {
    /// How long a session waits for a lock before it gives way (`--lock-wait-timeout`).
    package static let defaultLockWaitTimeout: TimeInterval = 10

    package static func configure(_ connection: PostgresConnection, lockTimeout: TimeInterval) throws {
        // PostgreSQL takes at most INT_MAX milliseconds; a longer duration means "wait that long".
        let milliseconds = Int(min(max(lockTimeout, 0) * 1000, Double(Int32.max)).rounded())
        var script = "SET statement_timeout = 0; SET idle_in_transaction_session_timeout = 0; SET lock_timeout = \(milliseconds)"
        if connection.serverVersion >= 140000 { script += "; SET idle_session_timeout = 0" }
        try connection.run(script: script)
    }

    /// Plan settings of the reading sessions. A whole table read in key order through its index
    /// visits the heap in random order; a sequential scan and a sort is faster by far (the
    /// 1M-user fixture: 9.4 s against 6.5 s of server time), and a modest `work_mem` sorts
    /// faster than a large one. Bitmap scans remain for selective filters.
    package static let readPlanSettings = "SET enable_indexscan = off; SET work_mem = '16MB'"

    /// Opens a connection that sees exactly `snapshot` (exported by another session), read-only,
    /// as `pg_dump -j` does for its workers.
    package static func join(_ snapshot: String, conninfo: String, lockTimeout: TimeInterval) throws -> PostgresConnection {
        let connection = try PostgresConnection(conninfo: conninfo)
        try configure(connection, lockTimeout: lockTimeout)
        let quoted = "'" + snapshot.replacingOccurrences(of: "'", with: "''") + "'"
        try connection.run(script: "BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY; SET TRANSACTION SNAPSHOT \(quoted); \(readPlanSettings)")
        return connection
    }
}
