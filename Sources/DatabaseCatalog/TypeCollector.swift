import ArchiveFormat
import Postgres

/// Finds the types that exported columns depend on and that are not built into PostgreSQL —
/// through arrays, domains and composite fields — and records each as data, dependencies first.
package enum TypeCollector {
    package static func collect(_ plans: [TablePlan], on connection: PostgresConnection) throws -> [TypeDefinition] {
        var state = State(connection: connection)
        for plan in plans {
            for column in plan.columns {
                if let oid = try connection.execute(
                    "SELECT atttypid FROM pg_attribute WHERE attrelid = to_regclass($1) AND attname = $2 AND NOT attisdropped",
                    [SQL.table(schema: plan.schema, name: plan.name), column.name]).scalar {
                    try state.visit(oid)
                }
            }
        }
        return state.found
    }

    private struct State {
        let connection: PostgresConnection
        var seen: Set<String> = []
        var found: [TypeDefinition] = []

        init(connection: PostgresConnection) { self.connection = connection }

        /// Depth first: a type's dependencies are recorded before it.
        mutating func visit(_ oid: String) throws {
            guard seen.insert(oid).inserted, oid != "0" else { return }
            guard let row = try connection.execute("""
                SELECT n.nspname, t.typname, t.typtype, t.typbasetype, t.typelem, t.typrelid, t.typcategory, t.typnotnull,
                       (SELECT e.extname FROM pg_depend d JOIN pg_extension e ON e.oid = d.refobjid
                         WHERE d.classid = 'pg_type'::regclass AND d.objid = t.oid AND d.refclassid = 'pg_extension'::regclass
                           AND d.deptype = 'e' LIMIT 1),
                       format_type(t.typbasetype, t.typtypmod), pg_get_expr(t.typdefaultbin, 0)
                FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace WHERE t.oid = $1
                """, [oid]).rows.first else { return }
            let schema = row[0] ?? "", name = row[1] ?? ""
            if schema == "pg_catalog" || schema == "information_schema" { return }
            var definition = TypeDefinition(schema: schema, name: name, kind: .other)
            if let extensionName = row[8] {
                definition.kind = .extension
                definition.extension = extensionName
                found.append(definition)
                return
            }
            // An array's element carries the definition; the array type comes with it.
            if row[6] == "A", let element = row[4], element != "0" { return try visit(element) }
            switch row[2] {
            case "e":
                definition.kind = .enum
                definition.labels = try connection.execute("SELECT enumlabel FROM pg_enum WHERE enumtypid = $1 ORDER BY enumsortorder", [oid])
                    .rows.compactMap { $0.first ?? nil }
            case "c":
                definition.kind = .composite
                let fields = try connection.execute("""
                    SELECT attname, format_type(atttypid, atttypmod), atttypid FROM pg_attribute
                    WHERE attrelid = $1 AND attnum > 0 AND NOT attisdropped ORDER BY attnum
                    """, [row[5]]).rows
                for field in fields { try visit(field[2] ?? "0") }
                definition.fields = fields.map { TypeDefinition.Field(name: $0[0] ?? "", type: $0[1] ?? "") }
            case "d":
                definition.kind = .domain
                try visit(row[3] ?? "0")
                definition.base = row[9]
                definition.notNull = row[7] == "t" ? true : nil
                let checks = try connection.execute("SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE contypid = $1 ORDER BY conname", [oid])
                    .rows.compactMap { $0.first ?? nil }
                definition.checks = checks.isEmpty ? nil : checks
                definition.defaultValue = row[10]
            default:
                break
            }
            found.append(definition)
        }
    }
}
