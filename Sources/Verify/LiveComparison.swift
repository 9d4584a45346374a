import ArchiveFormat
import ByteStreams
import CanonicalJSON
import DatabaseCatalog
import Postgres
import Restore

/// The tables as a base and its change segments replayed them, compared row by row with the
/// live database read in one exact snapshot (`ExactSnapshot`) whose position the replay stopped
/// before: equal tables mean the archive equals the database to the transaction.
package struct LiveComparison: Sendable {
    package let databaseURL: String
    /// The exact snapshot, exported by a session the caller holds open.
    package let snapshot: String
    package let show: Int
    package var statementTimeout = "1h"

    package init(databaseURL: String, snapshot: String, show: Int) {
        self.databaseURL = databaseURL
        self.snapshot = snapshot
        self.show = show
    }

    /// Both sides in key order — the replayed table with its own columns and key, the live one
    /// with the base's columns, filter and key — merged as `diff` merges an archive.
    func compare(_ table: TableDefinitions.Table, replayed: PostgresConnection) throws -> DiffReport.Table {
        let live = try SnapshotSession.join(snapshot, conninfo: databaseURL, lockTimeout: SnapshotSession.defaultLockWaitTimeout)
        try live.execute("SELECT set_config('statement_timeout', $1, true)", [statementTimeout])
        // Keys that do not sort as text are ordered by the server, on a connection of their own.
        let ordering = try PostgresConnection(conninfo: databaseURL)
        let selection = { (filter: String?) in
            TableSelection(table: table.qualifiedName, columns: table.columns.map(\.name), filter: filter, key: table.key)
        }
        let plan = try TablePlan.resolve(selection(table.filter), on: live)
        let merge = try TableMerge(table: table, plan: plan, connection: live, show: show, comparator: KeyComparator(plan: plan, connection: ordering))
        let replayedPlan = try TablePlan.resolve(selection(nil), on: replayed)
        let encoder = RowEncoder(columns: replayedPlan.columnSpecs, keyColumnIndexes: replayedPlan.keyColumnIndexes)
        let line = ByteBuffer(capacity: 4096)
        let rows = try replayed.copyOut(replayedPlan.copyStatement)
        while try rows.next({ copyLine in
            line.removeAll()
            let row = try encoder.encode(copyLine: copyLine, into: line)
            try merge.archived(line: line.bytes(row))
        }) {}
        try merge.finish()
        return merge.result
    }
}
