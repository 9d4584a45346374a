import ArchiveFormat
import ByteStreams
import Display
import Foundation
import Postgres

/// The statements that recreate an archived table and load it, shared by the restore level of
/// verification and by `pgseal restore`: bare tables of the declared types, keys after the load.
package enum TableDDL {
    static func name(_ table: TableDefinitions.Table) -> String { SQL.table(schema: table.schema, name: table.name) }

    /// Creates the table with the declared column types — each first proven to be a type name
    /// and nothing more (`checkTypes`), then read back from the catalog and compared, so that no
    /// constraint, default or expression from an archive reaches the server.
    package static func create(_ table: TableDefinitions.Table, on connection: PostgresConnection) throws {
        try checkTypes(table, on: connection)
        try connection.execute("CREATE SCHEMA IF NOT EXISTS \(SQL.identifier(table.schema))")
        var columns: [String] = []
        for column in table.columns {
            var definition = "\(SQL.identifier(column.name)) \(column.type)"
            if let collation = column.collation {
                // The server's own spelling of the collation it resolved, never the archive's text.
                guard let resolved = try connection.execute(
                    "SELECT format('%I.%I', n.nspname, c.collname) FROM pg_collation c JOIN pg_namespace n ON n.oid = c.collnamespace WHERE c.oid = to_regcollation($1)",
                    [collation]).scalar else {
                    throw UnsafeDefinition(table: table.qualifiedName, column: column.name, text: collation, reason: "no such collation on the target server")
                }
                definition += " COLLATE " + resolved
            }
            columns.append(definition)
        }
        try connection.execute("CREATE TABLE \(name(table)) (" + columns.joined(separator: ", ") + ")")
        let created = try connection.execute(
            "SELECT attname, format_type(atttypid, atttypmod) FROM pg_attribute WHERE attrelid = to_regclass($1) AND attnum > 0 AND NOT attisdropped ORDER BY attnum",
            [name(table)])
        let matches = created.rows.count == table.columns.count && zip(created.rows, table.columns).allSatisfy { row, column in
            row.count == 2 && (row[0] ?? "").isByteEqual(to: column.name) && (row[1] ?? "").isByteEqual(to: column.type)
        }
        guard matches else {
            throw UnsafeDefinition(table: table.qualifiedName, column: nil, text: "", reason: "the created table's columns differ from the declared ones")
        }
    }

    /// Each declared type must resolve, as a parameter of `to_regtype`, to a type: the server's
    /// parser then has proven the text a single type name (a `CHECK`, `DEFAULT` or second
    /// statement is a syntax error there). Run outside a transaction block, or in one that may
    /// fail: an error from `to_regtype` aborts it.
    static func checkTypes(_ table: TableDefinitions.Table, on connection: PostgresConnection) throws {
        if let missing = try missingTypes([table], on: connection).first {
            throw UnsafeDefinition(table: table.qualifiedName, column: missing.column, text: missing.type, reason: "no such type on the target server")
        }
    }

    /// The declared types of `tables` that the server does not have, all of them, so that a
    /// restore can stop up front with the whole list. A text that is not a type name at all
    /// is refused at once.
    static func missingTypes(_ tables: [TableDefinitions.Table], on connection: PostgresConnection) throws -> [(table: String, column: String, type: String)] {
        var missing: [(table: String, column: String, type: String)] = []
        for table in tables {
            for column in table.columns {
                if try !resolves(.type, column.type, table: table.qualifiedName, column: column.name, on: connection) {
                    missing.append((table.qualifiedName, column.name, column.type))
                }
                if let collation = column.collation,
                   try !resolves(.collation, collation, table: table.qualifiedName, column: column.name, on: connection) {
                    missing.append((table.qualifiedName, column.name, "collation \(collation)"))
                }
            }
        }
        return missing
    }

    enum CatalogName: String {
        case type, collation
        var function: String { self == .type ? "to_regtype" : "to_regcollation" }
    }

    /// Whether the server resolves `text`, given as a parameter to `to_regtype` or
    /// `to_regcollation`: its parser then proves the text a name and nothing more. A text that
    /// is not a name is refused at once — which aborts a transaction, so the texts are checked
    /// before one begins.
    private static func resolves(_ kind: CatalogName, _ text: String, table: String, column: String?,
                                 on connection: PostgresConnection) throws -> Bool {
        do {
            let oid = try connection.execute("SELECT \(kind.function)($1)::oid", [text]).scalar
            return oid != nil && oid != "0"
        } catch {
            throw UnsafeDefinition(table: table, column: column, text: text, reason: "not a \(kind.rawValue) name: \(error)")
        }
    }

    /// Proves every type text of `types` (composite fields, domain bases) a type name, as
    /// `missingTypes` does for columns; run before the transaction, since a refusal aborts it.
    package static func validateTypeTexts(_ types: [TypeDefinition], on connection: PostgresConnection) throws {
        for type in types {
            for text in (type.fields ?? []).map(\.type) + [type.base].compactMap({ $0 }) {
                _ = try resolves(.type, text, table: type.qualifiedName, column: nil, on: connection)
            }
        }
    }

    /// Creates, in order, the recorded types the server does not have and that can be made from
    /// data alone: enums (labels quoted by the server), composites (fields of proven type
    /// names), domains without constraints or default. Returns, for each missing type it did not
    /// create, why — for the list a restore stops with.
    package static func createTypes(_ types: [TypeDefinition], on connection: PostgresConnection) throws -> [String] {
        var notCreated: [String] = []
        for type in types {
            let exists = try connection.execute("SELECT to_regtype(format('%I.%I', $1::text, $2::text)) IS NOT NULL", [type.schema, type.name]).scalar == "t"
            if exists { continue }
            let typeName = SQL.table(schema: type.schema, name: type.name)
            let statement: String?
            switch type.kind {
            case .enum:
                let labels = String(decoding: try JSONEncoder().encode(type.labels ?? []), as: UTF8.self)
                statement = try connection.execute("""
                    SELECT format('CREATE TYPE %s AS ENUM (%s)', $1::text,
                                  coalesce((SELECT string_agg(quote_literal(l.value), ', ' ORDER BY l.ordinality)
                                            FROM jsonb_array_elements_text($2::jsonb) WITH ORDINALITY AS l), ''))
                    """, [typeName, labels]).scalar
            case .composite:
                statement = "CREATE TYPE \(typeName) AS (" + (type.fields ?? []).map { "\(SQL.identifier($0.name)) \($0.type)" }.joined(separator: ", ") + ")"
            case .domain where type.checks == nil && type.defaultValue == nil && type.base != nil:
                statement = "CREATE DOMAIN \(typeName) AS \(type.base ?? "")" + (type.notNull == true ? " NOT NULL" : "")
            case .domain:
                statement = nil
                notCreated.append("\(type.qualifiedName): a domain with constraints or a default (\((type.checks ?? []).joined(separator: ", "))), which are SQL that pgseal does not run from an archive")
            case .extension:
                statement = nil
                notCreated.append("\(type.qualifiedName): provided by extension \(type.extension ?? "?") (CREATE EXTENSION \(SQL.identifier(type.extension ?? "")))")
            case .other:
                statement = nil
                notCreated.append("\(type.qualifiedName): a type whose definition the archive does not record")
            }
            if let statement {
                try connection.execute("CREATE SCHEMA IF NOT EXISTS \(SQL.identifier(type.schema))")
                try connection.execute(statement)
            }
        }
        return notCreated
    }

    /// After the load: the key as the primary key, NOT NULL, identity (its sequence moved past
    /// the restored values) — all from names and flags, none from SQL text in the archive.
    /// Returns what was not recreated: stored generated columns, whose expression is SQL.
    @discardableResult
    package static func addKeyAndConstraints(_ table: TableDefinitions.Table, on connection: PostgresConnection) throws -> [String] {
        // One statement, so that the server checks every NOT NULL in one scan of the table.
        var changes: [String] = []
        if !table.key.isEmpty {
            changes.append("ADD PRIMARY KEY (" + table.key.map(SQL.identifier).joined(separator: ", ") + ")")
        }
        var notRecreated: [String] = []
        for column in table.columns {
            let target = "ALTER COLUMN \(SQL.identifier(column.name))"
            if column.notNull == true { changes.append(target + " SET NOT NULL") }
            if let identity = column.identity {
                changes.append(target + " ADD GENERATED \(identity == "always" ? "ALWAYS" : "BY DEFAULT") AS IDENTITY")
            }
            if column.generated != nil {
                notRecreated.append("\(table.qualifiedName).\(column.name): a stored generated column, restored with its values as a plain column (its expression is SQL, which pgseal never runs from an archive)")
            }
        }
        if !changes.isEmpty {
            try connection.execute("ALTER TABLE \(name(table)) " + changes.joined(separator: ", "))
        }
        for column in table.columns where column.identity != nil {
            try connection.execute(
                "SELECT setval(pg_get_serial_sequence($1, $2), m) FROM (SELECT max(\(SQL.identifier(column.name))) AS m FROM \(name(table))) x WHERE m IS NOT NULL",
                [name(table), column.name])
        }
        return notRecreated
    }

    package static func copyFromStdin(_ table: TableDefinitions.Table) -> String {
        "COPY \(name(table)) (" + table.columns.map { SQL.identifier($0.name) }.joined(separator: ", ") + ") FROM STDIN"
    }
}

/// A definition from an archive that pgseal will not turn into SQL.
package struct UnsafeDefinition: Error, CustomStringConvertible {
    package let table: String
    package let column: String?
    package let text: String
    package let reason: String

    package var description: String {
        let place = column.map { "column \(Terminal.escaped($0).debugDescription) of \(Terminal.escaped(table))" } ?? "table \(Terminal.escaped(table))"
        return "\(place): declared type \(Terminal.escaped(text).debugDescription) refused — \(reason)"
    }
}
