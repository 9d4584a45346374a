import Archive
import Export
import Postgres

/// The statements that recreate an archived table and load it, shared by the restore level of
/// verification and by `pgseal restore`: bare tables of the declared types, keys after the load.
enum TableDDL {
    static func name(_ table: TableDefinitions.Table) -> String { SQL.table(schema: table.schema, name: table.name) }

    static func create(_ table: TableDefinitions.Table, on connection: PostgresConnection) throws {
        try connection.execute("CREATE SCHEMA IF NOT EXISTS \(SQL.identifier(table.schema))")
        try connection.execute("CREATE TABLE \(name(table)) (" + table.columns.map { "\(SQL.identifier($0.name)) \($0.type)" }.joined(separator: ", ") + ")")
    }

    /// Adds the table's key as its primary key; nothing for a table without a key.
    static func addPrimaryKey(_ table: TableDefinitions.Table, on connection: PostgresConnection) throws {
        guard !table.key.isEmpty else { return }
        try connection.execute("ALTER TABLE \(name(table)) ADD PRIMARY KEY (" + table.key.map(SQL.identifier).joined(separator: ", ") + ")")
    }

    static func copyFromStdin(_ table: TableDefinitions.Table) -> String {
        "COPY \(name(table)) (" + table.columns.map { SQL.identifier($0.name) }.joined(separator: ", ") + ") FROM STDIN"
    }
}
