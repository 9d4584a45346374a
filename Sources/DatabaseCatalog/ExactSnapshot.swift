import Foundation
import Postgres

/// A snapshot whose WAL position is exact: the one a temporary logical replication slot exports
/// when it is made, and the slot's consistent point — every transaction committed before that
/// point is in the snapshot, none after it (docs/FORMAT.md §11.5). An export taken in it can be
/// checked against a chain of change segments that covers its position and can start a replay
/// on it; a live database read in it can be compared with a base and its segments replayed to
/// the position (`diff --replay`).
///
/// The snapshot lives as long as the walsender session that made it, and the temporary slot
/// goes with the session (also when the process is killed): `session` is held until every
/// reader has joined the snapshot and finished.
package struct ExactSnapshot {
    /// The server cannot make one: the problems, each naming the setting and what to run.
    package struct Unavailable: Error {
        package let problems: [String]
    }

    package let session: PostgresConnection
    package let snapshot: String
    package let walLSN: String

    package static func take(conninfo: String) throws -> ExactSnapshot {
        let check = try PostgresConnection(conninfo: conninfo)
        let problems = try ReplicationReadiness.problems(check, tables: [])
        guard problems.isEmpty else { throw Unavailable(problems: problems.map(\.message)) }
        let session = try PostgresConnection(replicationConninfo: conninfo)
        // Letters and digits only: the name is part of a replication command.
        let name = "pgseal_exact_\(ProcessInfo.processInfo.processIdentifier)_\(UInt32.random(in: 0...UInt32.max))"
        let made = try session.replicationCommand("CREATE_REPLICATION_SLOT \(name) TEMPORARY LOGICAL pgoutput (SNAPSHOT 'export')")
        guard let row = made.rows.first, row.count >= 3, let point = row[1], let snapshot = row[2], !point.isEmpty, !snapshot.isEmpty else {
            throw Unavailable(problems: ["CREATE_REPLICATION_SLOT answered without a consistent point and a snapshot"])
        }
        return ExactSnapshot(session: session, snapshot: snapshot, walLSN: point)
    }
}
