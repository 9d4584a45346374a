import ArchiveFormat
import ByteStreams
import Postgres

package enum KeyRangeError: Error, CustomStringConvertible {
    case unsplittable(table: String, reason: String)
    case badBound(String)

    package var description: String {
        switch self {
        case .unsplittable(let table, let reason): "table \(table) cannot be split into key ranges: \(reason)"
        case .badBound(let reason): "a key range bound is not usable: \(reason)"
        }
    }
}

/// Splits a table's rows into key ranges of about equal size, and turns a range into the
/// predicate a worker adds to its query.
package enum KeyRanges {
    /// At most `parts` ranges that cover every value of the first key column exactly once. The
    /// bounds are quantiles of a sample of about `sampleRows` keys (`TABLESAMPLE SYSTEM`, sized
    /// from the catalog's row estimate; the whole table when it was never analysed), so that the
    /// ranges hold about equal rows whether or not the statistics are fresh. A table without a
    /// key, or `parts` ≤ 1, is one range.
    package static func plan(_ plan: TablePlan, parts: Int, on connection: PostgresConnection, sampleRows: Int = 30_000) throws -> [PartRange] {
        guard parts > 1, let column = firstKeyColumn(of: plan) else { return [.whole] }
        let percent: Double
        if let estimated = plan.estimatedRows, estimated > 0 {
            percent = min(100, max(0.0001, Double(sampleRows) * 100 / Double(estimated)))
        } else {
            percent = 100
        }
        let fractions = "{" + (1..<parts).map { String(Double($0) / Double(parts)) }.joined(separator: ",") + "}"
        let key = SQL.identifier(column.name) + (column.collatable ? " COLLATE \"C\"" : "")
        let table = SQL.identifier(plan.schema) + "." + SQL.identifier(plan.name)
        let filter = plan.filter.map { " WHERE (\($0))" } ?? ""
        let sample = percent >= 100 ? table : "\(table) TABLESAMPLE SYSTEM ($2)"
        let query = """
            SELECT d.v::text AS bound FROM (SELECT DISTINCT v FROM unnest((SELECT percentile_disc($1::float8[]) WITHIN GROUP (ORDER BY \(key)) \
            FROM \(sample)\(filter))) AS u(v) WHERE v IS NOT NULL) d ORDER BY d.v\(column.collatable ? " COLLATE \"C\"" : "")
            """
        let result = try connection.execute(query, percent >= 100 ? [fractions] : [fractions, String(percent)])
        // In the key's own order (an integer's, not its text's: 801 before 1602).
        let bounds = result.rows.compactMap { $0.first ?? nil }
        guard !bounds.isEmpty else { return [.whole] }
        var ranges: [PartRange] = []
        var lower: String?
        for bound in bounds {
            ranges.append(PartRange(column: column.name, from: lower, to: bound))
            lower = bound
        }
        ranges.append(PartRange(column: column.name, from: lower, to: nil))
        return ranges
    }

    /// The SQL condition that selects `range` of `plan`'s first key column, or nil for the
    /// whole table. Each bound is a literal cast to the column's type as the live catalog names
    /// it: a bound that is not a value of that type fails the cast; it cannot become SQL.
    package static func predicate(_ range: PartRange, of plan: TablePlan) throws -> String? {
        guard !range.isWhole else { return nil }
        guard let column = firstKeyColumn(of: plan) else {
            throw KeyRangeError.unsplittable(table: plan.qualifiedName, reason: "it has no key")
        }
        let key = SQL.identifier(column.name) + (column.collatable ? " COLLATE \"C\"" : "")
        var conditions: [String] = []
        if let from = range.from { conditions.append("\(key) >= \(try literal(from, type: column.declaredType))") }
        if let to = range.to { conditions.append("\(key) < \(try literal(to, type: column.declaredType))") }
        return conditions.joined(separator: " AND ")
    }

    /// An escape-string literal (`E'…'`, whose meaning does not depend on
    /// `standard_conforming_strings`) cast to `type`.
    static func literal(_ value: String, type: String) throws -> String {
        guard !value.utf8.contains(0) else { throw KeyRangeError.badBound("it contains a NUL byte") }
        var escaped = ""
        for character in value.unicodeScalars {
            switch character {
            case "\\": escaped += "\\\\"
            case "'": escaped += "''"
            default: escaped.unicodeScalars.append(character)
            }
        }
        return "E'\(escaped)'::\(type)"
    }

    private static func firstKeyColumn(of plan: TablePlan) -> TablePlan.PlannedColumn? {
        guard let name = plan.keyColumns.first else { return nil }
        return plan.columns.first { $0.name.isByteEqual(to: name) }
    }
}
