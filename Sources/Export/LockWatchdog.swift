import ByteStreams
import DatabaseCatalog
import Display
import Foundation
import Postgres

/// Keeps an export from holding the application hostage (docs/OPERATIONS.md, "Running against
/// production"). An export's sessions hold ACCESS SHARE on its tables until they commit; a DDL
/// statement (`ALTER TABLE … DROP COLUMN`) then waits for them, and every ordinary query of that
/// table queues behind the DDL. Worse, a reader whose COPY comes later queues behind the DDL
/// too, while the main session waits for that reader: a cycle through pgseal that PostgreSQL
/// cannot see. pg_dump answers the cycle with NOWAIT in its workers; pgseal goes further and
/// gives way: a session that has waited longer than the lock wait timeout for a lock that one
/// of this export's sessions holds ends the export (exit 2), naming the table and the waiting
/// statement, so that the DDL — and the application behind it — proceeds.
final class LockWatchdog: @unchecked Sendable {
    struct Stall: Error, CustomStringConvertible {
        let table: String
        let pid: Int32
        let statement: String
        let seconds: Double
        let timeout: TimeInterval

        var description: String {
            "session \(pid) has waited \(String(format: "%.1f", seconds)) s for a lock on \(Terminal.escaped(table)) that this export holds, "
                + "running: \(statement.isEmpty ? "(its statement is hidden: grant the export role pg_read_all_stats to see it)" : Terminal.escaped(statement)) — "
                + "the export gave way (--lock-wait-timeout \(String(format: "%.0f", timeout)) s) so as not to stall the application; nothing was sealed. "
                + "Run it again once that change is done, or schedule DDL outside the export window"
        }
    }

    private let connection: PostgresConnection
    private let holders: [Int32]
    let timeout: TimeInterval
    private let interval: TimeInterval
    private let found = Locked<Stall?>(nil)
    private let stopped = Locked(false)

    /// Watches sessions blocked by `holders` (backend PIDs of this export), on a connection of
    /// its own outside any transaction, from a thread of its own: a query that a partitioned
    /// network never answers must not hold up the export's own watch for stalls.
    init(conninfo: String, holders: [Int32], timeout: TimeInterval, interval: TimeInterval = 0.5) throws {
        connection = try PostgresConnection(conninfo: conninfo)
        try SnapshotSession.configure(connection, lockTimeout: timeout)
        self.holders = holders
        self.timeout = timeout
        self.interval = max(0.1, min(interval, timeout / 4))
        let thread = Thread { [self] in
            while !stopped.withLock({ $0 }) {
                // A failed query (the connection is gone) leaves the judging to the export.
                if let stall = try? look() {
                    found.withLock { $0 = stall }
                    return
                }
                Thread.sleep(forTimeInterval: self.interval)
            }
        }
        thread.name = "pgseal-lock-watchdog"
        thread.start()
    }

    /// Throws `Stall` once some session has waited past the timeout for one of the holders' locks.
    func check() throws {
        if let stall = found.withLock({ $0 }) { throw stall }
    }

    package func stop() { stopped.withLock { $0 = true } }

    private func look() throws -> Stall? {
        let waitStart = connection.serverVersion >= 140000 ? "l.waitstart" : "w.query_start"
        let result = try connection.execute("""
            SELECT w.pid, left(coalesce(w.query, ''), 300), coalesce(l.relation::regclass::text, l.locktype),
                   coalesce(extract(epoch FROM clock_timestamp() - \(waitStart)), 0)::float8
            FROM pg_locks l JOIN pg_stat_activity w ON w.pid = l.pid
            WHERE NOT l.granted AND w.pid <> ALL($1::int[]) AND pg_blocking_pids(w.pid) && $1::int[]
            ORDER BY 4 DESC LIMIT 1
            """, ["{" + holders.map(String.init).joined(separator: ",") + "}"])
        guard let row = result.rows.first, let seconds = row[3].flatMap(Double.init), seconds >= timeout else { return nil }
        return Stall(table: row[2] ?? "?", pid: Int32(row[0] ?? "") ?? 0,
                     statement: (row[1] ?? "").replacingOccurrences(of: "\n", with: " "), seconds: seconds, timeout: timeout)
    }
}
