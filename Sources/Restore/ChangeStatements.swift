import ArchiveFormat
import CanonicalJSON
import Postgres

/// The statements that apply one table's change lines: names quoted once from the definitions,
/// values only ever parameters. A change that does not fit the table's rows — an insert whose
/// key is there, an update or delete whose key is not — is a conflict, never skipped.
struct ChangeStatements {
    struct Conflict: Error, CustomStringConvertible {
        let description: String
    }

    let table: TableDefinitions.Table
    let name: String
    private let columns: [String]
    private let keyIndexes: [Int]
    private let keyPredicate: (Int) -> String
    /// The target table's key is enforced by a unique index and no unique constraint is
    /// deferred: an insert is then one statement that does nothing on a present key, instead
    /// of a look-up and an insert.
    private(set) var keyEnforced = false

    init(_ table: TableDefinitions.Table) {
        self.table = table
        name = SQL.table(schema: table.schema, name: table.name)
        columns = table.columns.map { SQL.identifier($0.name) }
        let keyIndexes = table.key.compactMap { key in table.columns.firstIndex { $0.name.isByteEqual(to: key) } }
        self.keyIndexes = keyIndexes
        let quotedKeys = keyIndexes.map { SQL.identifier(table.columns[$0].name) }
        keyPredicate = { first in quotedKeys.enumerated().map { "\($1) = $\(first + $0)" }.joined(separator: " AND ") }
    }

    /// The same statements, told by `connection`'s catalog whether the key is enforced there.
    init(_ table: TableDefinitions.Table, on connection: PostgresConnection) throws {
        self.init(table)
        guard !table.key.isEmpty else { return }
        let enforced = try connection.execute("""
            SELECT EXISTS (SELECT 1 FROM pg_index i WHERE i.indrelid = $1::regclass AND i.indisunique AND i.indpred IS NULL
                             AND i.indexprs IS NULL AND i.indnkeyatts = json_array_length($2::json)
                             AND (SELECT array_agg(a.attname::text ORDER BY a.attname::text) FROM pg_attribute a
                                   WHERE a.attrelid = i.indrelid AND a.attnum = ANY (i.indkey::int2[]))
                               = (SELECT array_agg(k ORDER BY k) FROM json_array_elements_text($2::json) AS k))
               AND NOT EXISTS (SELECT 1 FROM pg_index i WHERE i.indrelid = $1::regclass AND (i.indisunique OR i.indisexclusion) AND NOT i.indimmediate)
            """, [name, "[" + table.key.map(JSONString.quoted).joined(separator: ",") + "]"])
        keyEnforced = enforced.scalar == "t"
    }

    /// Whether two definitions of a table have the same columns (names and encodings) and key.
    static func sameColumns(_ one: TableDefinitions.Table, _ other: TableDefinitions.Table) -> Bool {
        other.columns.count == one.columns.count && zip(other.columns, one.columns).allSatisfy { $0.name.isByteEqual(to: $1.name) && $0.encoding == $1.encoding }
            && other.key == one.key
    }

    /// The row under `key` as PostgreSQL prints its columns (the profile's), nil when there is none.
    func row(_ key: [String?], on connection: PostgresConnection, forUpdate: Bool = false) throws -> [String?]? {
        try connection.execute("SELECT \(columns.joined(separator: ", ")) FROM \(name) WHERE \(keyPredicate(1))\(forUpdate ? " FOR UPDATE" : "")", key).rows.first
    }

    /// Makes the rows under `oldKey` and `row`'s key what a change made them, whatever they are
    /// now: the row under `oldKey` gone (when given and not `row`'s own), `row` inserted or
    /// written over the one under its key. The key needs a unique index.
    func force(_ row: [String?]?, removing oldKey: [String?]?, on connection: PostgresConnection) throws {
        if let oldKey { try connection.execute("DELETE FROM \(name) WHERE \(keyPredicate(1))", oldKey) }
        guard let row else { return }
        let placeholders = (1...max(1, row.count)).map { "$\($0)" }.joined(separator: ", ")
        let keyColumns = keyIndexes.map { columns[$0] }
        let others = columns.indices.filter { !keyIndexes.contains($0) }.map { "\(columns[$0]) = EXCLUDED.\(columns[$0])" }
        let onConflict = others.isEmpty ? "DO NOTHING" : "DO UPDATE SET \(others.joined(separator: ", "))"
        try connection.execute("INSERT INTO \(name) (\(columns.joined(separator: ", "))) VALUES (\(placeholders)) ON CONFLICT (\(keyColumns.joined(separator: ", "))) \(onConflict)", row)
    }

    /// A row's key values, from the profile's columns as `row` returns them.
    func key(of row: [String?]) -> [String?] { keyIndexes.map { $0 < row.count ? row[$0] : nil } }

    /// One statement of a change, and what its result must be.
    struct Planned {
        let sql: String
        let parameters: [String?]
        let check: (QueryResult) throws -> Void
    }

    func apply(_ change: ChangeLineDecoder.Change, on connection: PostgresConnection) throws {
        for statement in try plan(change) { try statement.check(try connection.execute(statement.sql, statement.parameters)) }
    }

    /// The same statements queued in a pipeline: their checks run as their results come back.
    func send(_ change: ChangeLineDecoder.Change, into pipeline: StatementPipeline, wrapping wrap: @escaping (Error) -> Error = { $0 }) throws {
        for statement in try plan(change) {
            try pipeline.send(statement.sql, statement.parameters) { result in
                do { try statement.check(result) } catch { throw wrap(error) }
            }
        }
    }

    func plan(_ change: ChangeLineDecoder.Change) throws -> [Planned] {
        guard !keyIndexes.isEmpty else { throw Conflict(description: "table \(table.qualifiedName) has no key to apply changes by") }
        let qualified = table.qualifiedName
        let keyText = { (key: [String?]) in "key " + key.map { $0 ?? "NULL" }.joined(separator: ", ") }
        switch change.operation {
        case .insert:
            guard let row = change.row else { return [] }
            let values = row.map { $0 ?? nil }
            let placeholders = (1...max(1, values.count)).map { "$\($0)" }.joined(separator: ", ")
            let key = change.key
            if keyEnforced {
                return [Planned(sql: "INSERT INTO \(name) (\(columns.joined(separator: ", "))) VALUES (\(placeholders)) ON CONFLICT DO NOTHING RETURNING 1",
                                parameters: values) { inserted in
                    guard inserted.rows.count == 1 else { throw Conflict(description: "an insert into \(qualified) finds \(keyText(key)) (or another unique value of the row) already there") }
                }]
            }
            return [
                Planned(sql: "SELECT 1 FROM \(name) WHERE \(keyPredicate(1))", parameters: key) { found in
                    guard found.rows.isEmpty else { throw Conflict(description: "an insert into \(qualified) finds \(keyText(key)) already there") }
                },
                Planned(sql: "INSERT INTO \(name) (\(columns.joined(separator: ", "))) VALUES (\(placeholders))", parameters: values) { _ in },
            ]
        case .update:
            guard let row = change.row else { return [] }
            var assignments: [String] = []
            var parameters: [String?] = []
            for (index, value) in row.enumerated() {
                guard case .some(let present) = value else { continue }  // unchanged: kept as it is
                parameters.append(present)
                assignments.append("\(columns[index]) = $\(parameters.count)")
            }
            let old = change.oldKey ?? change.key
            return [Planned(sql: "UPDATE \(name) SET \(assignments.joined(separator: ", ")) WHERE \(keyPredicate(parameters.count + 1)) RETURNING 1",
                            parameters: parameters + old) { updated in
                guard updated.rows.count == 1 else {
                    throw Conflict(description: "an update of \(qualified) finds \(updated.rows.count) rows with key \(old.map { $0 ?? "NULL" }.joined(separator: ", "))")
                }
            }]
        case .delete:
            let key = change.key
            return [Planned(sql: "DELETE FROM \(name) WHERE \(keyPredicate(1)) RETURNING 1", parameters: key) { deleted in
                guard deleted.rows.count == 1 else { throw Conflict(description: "a delete from \(qualified) finds \(deleted.rows.count) rows with \(keyText(key))") }
            }]
        case .truncate:
            return [Planned(sql: "TRUNCATE \(name)", parameters: []) { _ in }]
        }
    }
}
