import ChangeCapture
import DatabaseCatalog
import Postgres

/// A profile's filter (`WHERE is_active`), decided by the database for one row the stream sent:
/// the row's values are bound as parameters, typed as the table's columns, under the table's
/// name — the filter is the operator's SQL, as an export runs it; the values never are SQL.
/// Applied by pgseal rather than as a publication row filter, which makes every UPDATE of a
/// table fail when it names a column outside the replica identity.
final class RowFilter {
    private let connection: PostgresConnection
    private var statements: [String: String] = [:]

    init(connection: PostgresConnection) { self.connection = connection }

    /// Whether the old and the new row (every column the server sent, in its order) are in the
    /// profile's view; an absent row is not. Both are decided in one statement — one round trip
    /// a change, which is most of what following a filtered table costs.
    func matches(old: [PgOutputMessage.TupleValue]?, new: [PgOutputMessage.TupleValue]?, of projection: TableProjection) throws -> (old: Bool, new: Bool) {
        guard let filter = projection.plan.filter else { return (old != nil, new != nil) }
        let rows = [old, new].compactMap { $0 }
        guard !rows.isEmpty else { return (false, false) }
        let statement = try statement(for: projection, filter: filter, rows: rows.count)
        var parameters: [String?] = []
        for row in rows {
            for value in row {
                switch value {
                case .null: parameters.append(nil)
                case .text(let bytes): parameters.append(String(decoding: bytes, as: UTF8.self))
                case .unchangedToast: throw FollowError.stream("a row of \(projection.plan.qualifiedName) to filter lacks an unchanged TOASTed value")
                }
            }
        }
        let answers = try connection.execute(statement, parameters).rows.first ?? []
        let decided = answers.map { $0 == "t" }
        switch (old, new) {
        case (.some, .some): return (decided.first ?? false, decided.dropFirst().first ?? false)
        case (.some, nil): return (decided.first ?? false, false)
        default: return (false, decided.first ?? false)
        }
    }

    /// `SELECT (filter) FROM (SELECT $1::type AS col, …) AS table` once per row, side by side.
    private func statement(for projection: TableProjection, filter: String, rows: Int) throws -> String {
        let relation = projection.relation
        let cacheKey = "\(relation.id)/\(relation.columns.count)/\(rows)"
        if let known = statements[cacheKey] { return known }
        var types: [String] = []
        for column in relation.columns {
            types.append(try connection.execute("SELECT format_type($1::oid, $2::int)", [String(column.typeOID), String(column.typeModifier)]).scalar ?? "text")
        }
        let selects = (0..<rows).map { row in
            let columns = zip(relation.columns, types).enumerated().map { index, pair in
                "$\(row * relation.columns.count + index + 1)::\(pair.1) AS \(SQL.identifier(pair.0.name))"
            }
            return "(SELECT (\(filter))::boolean FROM (SELECT \(columns.joined(separator: ", "))) AS \(SQL.identifier(projection.plan.name)))"
        }
        let statement = "SELECT " + selects.joined(separator: ", ")
        statements[cacheKey] = statement
        return statement
    }
}
