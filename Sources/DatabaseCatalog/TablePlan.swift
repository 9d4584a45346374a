import ArchiveFormat
import ByteStreams
import CanonicalJSON
import Postgres

/// A table selection checked against the database: real columns with their types, the key,
/// and the one query that reads it.
package struct TablePlan: Sendable {
    package let schema: String
    package let name: String
    package let columns: [PlannedColumn]
    package let keyColumns: [String]
    package let filter: String?
    /// The catalog's estimate of the table's rows (`pg_class.reltuples`), for progress only;
    /// nil when the table was never analysed.
    package var estimatedRows: Int? = nil

    package struct PlannedColumn: Sendable {
        package let name: String
        package let declaredType: String
        package let encoding: ColumnEncoding
        /// True when the column's collation already sorts in byte order (C, POSIX, C.UTF-8),
        /// so that `ORDER BY` needs no `COLLATE "C"` and can walk the key's index.
        package let collatedByBytes: Bool
        /// The type takes a collation (text, varchar, char(n), citext, domains over them).
        package let collatable: Bool
        /// Declared properties the archive records (`Manifest.Column`).
        package var notNull = false
        package var collation: String?
        package var identity: String?
        package var generated: String?
    }

    package var qualifiedName: String { schema + "." + name }
    package var columnSpecs: [ColumnSpec] { columns.map { ColumnSpec(name: $0.name, encoding: $0.encoding) } }
    package var keyColumnIndexes: [Int] { keyColumns.compactMap { key in columns.firstIndex { $0.name.isByteEqual(to: key) } } }

    /// The canonical encoder of this plan's rows as an archive with these columns wrote them:
    /// the live catalog's encodings, except where the archive declares one of pgseal/1's
    /// (embedded json, arrays as JSON arrays; FORMAT.md §3.4) — so that a version 1 archive is
    /// compared with a database (diff, the restore level) as version 1 wrote its rows.
    package func encoder(archivedAs declared: [Manifest.Column]) -> RowEncoder {
        let legacy = Dictionary(declared.compactMap { column -> (String, ColumnEncoding)? in
            guard column.encoding == "json" || column.encoding.hasPrefix("array:"),
                  let encoding = ColumnEncoding(manifestName: column.encoding) else { return nil }
            return (column.name, encoding)
        }, uniquingKeysWith: { first, _ in first })
        let specs = columnSpecs.map { spec in legacy[spec.name].map { ColumnSpec(name: spec.name, encoding: $0) } ?? spec }
        return RowEncoder(columns: specs, keyColumnIndexes: keyColumnIndexes)
    }

    package var manifestColumns: [Manifest.Column] {
        columns.map {
            Manifest.Column(name: $0.name, type: $0.declaredType, encoding: $0.encoding.manifestName, notNull: $0.notNull ? true : nil,
                            collation: $0.collation, identity: $0.identity, generated: $0.generated)
        }
    }

    /// `SELECT` of the exported columns in key order. Text keys sort in byte order, independent of
    /// the server's locale: `COLLATE "C"` where the column's collation is not already a C
    /// collation (which costs a sort instead of an index scan: 5 s more for 5M rows). A table
    /// without a key is ordered by the text of every column, which makes its digest reproducible.
    package var selectStatement: String {
        let list = columns.map { SQL.identifier($0.name) }.joined(separator: ", ")
        var sql = "SELECT \(list) FROM \(SQL.identifier(schema)).\(SQL.identifier(name))"
        if let filter { sql += " WHERE (\(filter))" }
        let order: [String]
        if keyColumns.isEmpty {
            order = columns.map { "\(SQL.identifier($0.name))::text COLLATE \"C\"" }
        } else {
            order = keyColumns.map { key in
                let byBytes = columns.first { $0.name.isByteEqual(to: key) }?.collatedByBytes ?? false
                return SQL.identifier(key) + (byBytes ? "" : " COLLATE \"C\"")
            }
        }
        return sql + " ORDER BY " + order.joined(separator: ", ")
    }

    package var copyStatement: String { "COPY (\(selectStatement)) TO STDOUT" }
}

/// What the export checks before it reads anything, each failure a message that says what to
/// change: the table exists, the columns exist, the key is known, the filter parses and the
/// role may read the table.
package enum TablePlanError: Error, CustomStringConvertible {
    case noSuchTable(String)
    case noSuchColumns(table: String, columns: [String], available: [String])
    case noKey(table: String)
    case badFilter(table: String, filter: String, reason: String)
    case permissionDenied(table: String, reason: String)
    case notRepresentable(table: String, column: String, type: String, reason: String)

    package var description: String {
        switch self {
        case .noSuchTable(let table):
            "table \(table) does not exist (or is not visible to this role); check the profile's table names"
        case .noSuchColumns(let table, let columns, let available):
            "table \(table) has no column \(columns.joined(separator: ", ")); its columns are: \(available.joined(separator: ", "))"
        case .noKey(let table):
            "table \(table) has no primary key; declare `key: [columns…]` in the profile, or `key: []` for a table compared as a multiset"
        case .badFilter(let table, let filter, let reason):
            "the filter of table \(table) does not work: \(filter) — \(reason)"
        case .notRepresentable(let table, let column, let type, let reason):
            "table \(table), column \(column) (\(type)) cannot be archived exactly: \(reason)"
        case .permissionDenied(let table, let reason):
            "permission denied reading \(table): \(reason) — grant SELECT on it to the export role"
        }
    }
}

extension TablePlan {
    /// Resolves `selection` in the catalog through `connection` (inside the export's snapshot).
    package static func resolve(_ selection: TableSelection, on connection: PostgresConnection) throws -> TablePlan {
        let schema = selection.schemaName
        let table = selection.tableName
        guard let oid = try connection.execute("""
            SELECT c.oid FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE n.nspname = $1 AND c.relname = $2 AND c.relkind IN ('r', 'p', 'v', 'm', 'f')
            """, [schema, table]).scalar
        else { throw TablePlanError.noSuchTable(selection.qualifiedName) }

        // Domains resolve to their base type; arrays (typcategory A) are kept as their text.
        let rows = try connection.execute("""
            SELECT a.attname, format_type(a.atttypid, a.atttypmod),
                   base.typname, base.typcategory,
                   a.attcollation = 0 OR (
                     CASE WHEN coll.collprovider = 'd' THEN db.datlocprovider ELSE coll.collprovider END = 'c'
                     AND CASE WHEN coll.collprovider = 'd' THEN db.datcollate ELSE coll.collcollate END
                         IN ('C', 'POSIX', 'C.UTF-8', 'C.utf8')),
                   a.attcollation <> 0,
                   a.attnotnull,
                   CASE WHEN a.attcollation <> 0 AND a.attcollation <> t.typcollation
                        THEN format('%I.%I', collns.nspname, coll.collname) END,
                   CASE a.attidentity WHEN 'a' THEN 'always' WHEN 'd' THEN 'by default' END,
                   CASE WHEN a.attgenerated = 's' THEN pg_get_expr(def.adbin, def.adrelid) END
            FROM pg_attribute a
            JOIN pg_type t ON t.oid = a.atttypid
            JOIN pg_type base ON base.oid = CASE WHEN t.typtype = 'd' THEN t.typbasetype ELSE t.oid END
            LEFT JOIN pg_collation coll ON coll.oid = a.attcollation
            LEFT JOIN pg_namespace collns ON collns.oid = coll.collnamespace
            LEFT JOIN pg_attrdef def ON def.adrelid = a.attrelid AND def.adnum = a.attnum
            JOIN pg_database db ON db.datname = current_database()
            WHERE a.attrelid = $1 AND a.attnum > 0 AND NOT a.attisdropped
            ORDER BY a.attnum
            """, [oid]).rows
        let all = rows.map { row -> PlannedColumn in
            let encoding: ColumnEncoding
            if row[3] == "A" {
                encoding = .arrayText
            } else {
                encoding = ColumnEncoding(baseTypeName: row[2] ?? "")
            }
            var column = PlannedColumn(name: row[0] ?? "", declaredType: row[1] ?? "", encoding: encoding, collatedByBytes: row[4] == "t", collatable: row[5] == "t")
            column.notNull = row[6] == "t"
            column.collation = row[7]
            column.identity = row[8]
            column.generated = row[9]
            return column
        }
        let objectReferences = zip(rows, all).filter { row, _ in row[2].map(Self.objectReferenceTypes.contains) ?? false }.map(\.1)
        let excluded = selection.excludeColumns ?? []
        let wanted = selection.columns ?? all.map(\.name).filter { name in !excluded.contains { $0.isByteEqual(to: name) } }
        let missing = (wanted + excluded).filter { name in !all.contains { $0.name.isByteEqual(to: name) } }
        guard missing.isEmpty else {
            throw TablePlanError.noSuchColumns(table: selection.qualifiedName, columns: missing, available: all.map(\.name))
        }
        let columns = wanted.compactMap { name in all.first { $0.name.isByteEqual(to: name) } }
        // What cannot be restored exactly is refused before anything is written.
        if let column = columns.first(where: { column in objectReferences.contains { $0.name.isByteEqual(to: column.name) } }) {
            throw TablePlanError.notRepresentable(table: selection.qualifiedName, column: column.name, type: column.declaredType,
                reason: "its values name objects by OID, which a restore into another database does not keep; export the names as text through a view (\(SQL.identifier(column.name))::text)")
        }

        var key = selection.key
        if key == nil {
            let primaryKey = try connection.execute("""
                SELECT a.attname FROM pg_index i
                JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey)
                WHERE i.indrelid = $1 AND i.indisprimary
                ORDER BY array_position(i.indkey, a.attnum)
                """, [oid]).rows.compactMap { $0[0] }
            guard !primaryKey.isEmpty else { throw TablePlanError.noKey(table: selection.qualifiedName) }
            key = primaryKey
        }
        let keyColumns = key!
        let notExported = keyColumns.filter { name in !columns.contains { $0.name.isByteEqual(to: name) } }
        guard notExported.isEmpty else {
            if notExported.contains(where: { name in !all.contains { $0.name.isByteEqual(to: name) } }) {
                throw TablePlanError.noSuchColumns(table: selection.qualifiedName, columns: notExported, available: all.map(\.name))
            }
            throw ConfigurationError("table \(selection.qualifiedName): key column \(notExported.joined(separator: ", ")) is not exported; add it to the profile's columns")
        }

        var plan = TablePlan(schema: schema, name: table, columns: columns, keyColumns: keyColumns, filter: selection.filter)
        // reltuples is -1 for a table never analysed (PostgreSQL 14+), and a partitioned table's
        // is the sum of its partitions'.
        let estimate = try connection.execute("""
            SELECT CASE WHEN c.relkind = 'p' THEN (SELECT sum(greatest(p.reltuples, 0))::bigint FROM pg_inherits i JOIN pg_class p ON p.oid = i.inhrelid WHERE i.inhparent = c.oid)
                        ELSE c.reltuples::bigint END
            FROM pg_class c WHERE c.oid = $1
            """, [oid]).scalar.flatMap { Int($0) }
        plan.estimatedRows = estimate.flatMap { $0 >= 0 ? $0 : nil }
        try plan.checkQuery(on: connection)
        return plan
    }

    /// The reg* types: a value is an OID shown as a name.
    static let objectReferenceTypes: Set<String> = [
        "regclass", "regtype", "regproc", "regprocedure", "regoper", "regoperator", "regconfig",
        "regdictionary", "regnamespace", "regrole", "regcollation",
    ]

    /// Plans the real query without running it: this parses the filter and checks privileges.
    func checkQuery(on connection: PostgresConnection) throws {
        do {
            try connection.execute("EXPLAIN \(selectStatement)")
        } catch {
            if error.isPermissionDenied {
                throw TablePlanError.permissionDenied(table: qualifiedName, reason: "\(error)")
            }
            // Syntax errors and unknown names (class 42) or bad values (class 22) in a query
            // whose only free text is the filter.
            if let filter, let state = error.sqlState, state.hasPrefix("42") || state.hasPrefix("22") {
                throw TablePlanError.badFilter(table: qualifiedName, filter: filter, reason: "\(error)")
            }
            throw error
        }
    }
}
