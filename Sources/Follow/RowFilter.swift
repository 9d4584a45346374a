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

    /// Whether `row` (every column the server sent, in its order) is in the profile's view.
    func matches(_ row: [PgOutputMessage.TupleValue], of projection: TableProjection) throws -> Bool {
        guard let filter = projection.plan.filter else { return true }
        let statement = try statement(for: projection, filter: filter)
        var parameters: [String?] = []
        for value in row {
            switch value {
            case .null: parameters.append(nil)
            case .text(let bytes): parameters.append(String(decoding: bytes, as: UTF8.self))
            case .unchangedToast: throw FollowError.stream("a row of \(projection.plan.qualifiedName) to filter lacks an unchanged TOASTed value")
            }
        }
        let result = try connection.execute(statement, parameters)
        return result.rows.first?.first == "t"
    }

    private func statement(for projection: TableProjection, filter: String) throws -> String {
        let relation = projection.relation
        let cacheKey = "\(relation.id)/\(relation.columns.count)"
        if let known = statements[cacheKey] { return known }
        var columns: [String] = []
        for (index, column) in relation.columns.enumerated() {
            let type = try connection.execute("SELECT format_type($1::oid, $2::int)", [String(column.typeOID), String(column.typeModifier)]).scalar ?? "text"
            columns.append("$\(index + 1)::\(type) AS \(SQL.identifier(column.name))")
        }
        let statement = "SELECT (\(filter))::boolean FROM (SELECT \(columns.joined(separator: ", "))) AS \(SQL.identifier(projection.plan.name))"
        statements[cacheKey] = statement
        return statement
    }
}
