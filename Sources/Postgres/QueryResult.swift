import CLibPQ

/// The rows of a small result (catalog queries, settings), copied out of libpq as text.
package struct QueryResult: Sendable {
    package let columnNames: [String]
    package let rows: [[String?]]

    init(_ result: OpaquePointer) {
        let rowCount = Int(PQntuples(result))
        let columnCount = Int(PQnfields(result))
        columnNames = (0..<columnCount).map { String(cString: PQfname(result, Int32($0))) }
        rows = (0..<rowCount).map { row in
            (0..<columnCount).map { column in
                PQgetisnull(result, Int32(row), Int32(column)) == 1
                    ? nil : String(cString: PQgetvalue(result, Int32(row), Int32(column)))
            }
        }
    }

    /// The single value of a one-row, one-column result.
    package var scalar: String? { rows.first?.first ?? nil }
}
