import ArchiveFormat
import ByteStreams
import CanonicalJSON
import DatabaseCatalog
import Postgres

/// A table read back from a database in key order through the export's own canonical encoder:
/// its row count and digest, as a manifest states them (docs/FORMAT.md §4).
enum TableReadBack {
    static func digest(_ plan: TablePlan, declared: [Manifest.Column], on connection: PostgresConnection) throws -> (rows: Int, digest: String) {
        let encoder = plan.encoder(archivedAs: declared)
        let digest = TableDigest()
        let line = ByteBuffer(capacity: 4096)
        let rows = try connection.copyOut(plan.copyStatement)
        while try rows.next({ copyLine in
            line.removeAll()
            try encoder.encode(copyLine: copyLine, into: line)
            digest.add(row: line.bytes)
        }) {}
        return (digest.rows, digest.finalize().hex)
    }

    /// The digest of a table restored from `table`'s definition.
    static func digest(_ table: TableDefinitions.Table, on connection: PostgresConnection) throws -> (rows: Int, digest: String) {
        let selection = TableSelection(table: table.qualifiedName, columns: table.columns.map(\.name), filter: nil, key: table.key)
        return try digest(try TablePlan.resolve(selection, on: connection), declared: table.columns, on: connection)
    }
}
