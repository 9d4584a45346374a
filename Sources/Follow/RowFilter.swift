import ChangeCapture
import DatabaseCatalog
import Postgres

/// A profile's filter (`WHERE is_active`), decided by the database for the rows the stream sent:
/// the row's values are bound as parameters, typed as the table's columns, under the table's
/// name — the filter is the operator's SQL, as an export runs it; the values never are SQL.
/// Applied by pgseal rather than as a publication row filter, which makes every UPDATE of a
/// table fail when it names a column outside the replica identity.
final class RowFilter {
    /// Whether a change's old and new row are in the view, once its batch's answers are read.
    final class Decision {
        fileprivate(set) var old = false
        fileprivate(set) var new = false
    }

    private let connection: PostgresConnection
    private var statements: [String: String] = [:]
    /// Open while decisions are queued: the connection is in pipeline mode until `flush`.
    private var pipeline: StatementPipeline?

    init(connection: PostgresConnection) { self.connection = connection }

    /// Queues the decision for a change's old and new row (every column the server sent, in its
    /// order; an absent row is not in the view): one statement, sent without waiting, so that a
    /// batch of changes costs one round trip — not one a change, which was most of what
    /// following a filtered table cost. The decision is filled in by `flush`.
    func queue(old: [PgOutputMessage.TupleValue]?, new: [PgOutputMessage.TupleValue]?, of projection: TableProjection) throws -> Decision {
        let decision = Decision()
        guard let filter = projection.plan.filter else {
            decision.old = old != nil
            decision.new = new != nil
            return decision
        }
        let rows = [old, new].compactMap { $0 }
        guard !rows.isEmpty else { return decision }
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
        let pipeline = try self.pipeline ?? StatementPipeline(connection, batch: Int.max)
        self.pipeline = pipeline
        let (hasOld, hasNew) = (old != nil, new != nil)
        try pipeline.send(statement, parameters) { result in
            let answers = (result.rows.first ?? []).map { $0 == "t" }
            decision.old = hasOld && (answers.first ?? false)
            decision.new = hasNew && ((hasOld ? answers.dropFirst().first : answers.first) ?? false)
        }
        return decision
    }

    /// Reads the answers of every queued decision and leaves pipeline mode: the connection is
    /// free for other queries again.
    func flush() throws {
        guard let pipeline else { return }
        self.pipeline = nil
        try pipeline.finish()
    }

    /// `SELECT (filter) FROM (SELECT $1::type AS col, …) AS table` once per row, side by side.
    private func statement(for projection: TableProjection, filter: String, rows: Int) throws -> String {
        let relation = projection.relation
        let cacheKey = "\(relation.id)/\(relation.columns.count)/\(rows)"
        if let known = statements[cacheKey] { return known }
        // The column types are asked of the server: answers still owed are read first.
        try flush()
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
