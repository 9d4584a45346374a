import ArchiveReading
import CanonicalJSON
import DatabaseCatalog
import Foundation
import Postgres

/// Orders two keys of one table exactly as the database's `ORDER BY` of the export did (the
/// key columns' own types, text in collation "C"). Keys whose every column sorts as its
/// canonical text does — integers, and text, varchar and uuid in byte order — are compared
/// here; any other key (date with BC or five-digit years, numeric, timestamp, interval, enum,
/// char(n), …) is compared by the server itself, one query per pair of keys that differ, so
/// the diff never disagrees with the database about which rows are missing.
package final class KeyComparator {
    private let order: KeyOrder
    private let local: Bool
    private let connection: PostgresConnection
    private let encodings: [ColumnEncoding]
    private let decoder = RowDecoder(columns: [])
    private let query: String
    private(set) var serverComparisons = 0

    /// `connection` must be free for queries while the merge runs (the diff's coordinator).
    package init(plan: TablePlan, connection: PostgresConnection) {
        let keyColumns = plan.keyColumnIndexes.map { plan.columns[$0] }
        encodings = keyColumns.map(\.encoding)
        order = KeyOrder(encodings: encodings)
        local = keyColumns.allSatisfy { Self.sortsAsItsText($0.encoding, declaredType: $0.declaredType) }
        self.connection = connection
        // ($1, $2, …) against ($n+1, …), each cast to the column's declared type (from the live
        // catalog, not from the archive) and collated as the export's ORDER BY was.
        let count = keyColumns.count
        func row(_ offset: Int) -> String {
            "ROW(" + keyColumns.enumerated().map { index, column in
                "$\(offset + index + 1)::\(column.declaredType)" + (column.collatable ? " COLLATE \"C\"" : "")
            }.joined(separator: ", ") + ")"
        }
        query = "SELECT CASE WHEN \(row(0)) < \(row(count)) THEN -1 WHEN \(row(0)) = \(row(count)) THEN 0 ELSE 1 END"
    }

    /// Whether values of this column sort (under the export's `ORDER BY`) as `KeyOrder`
    /// compares their canonical text.
    package static func sortsAsItsText(_ encoding: ColumnEncoding, declaredType: String) -> Bool {
        switch encoding {
        case .integer: true
        case .text: declaredType == "text" || declaredType == "uuid" || declaredType.hasPrefix("character varying")
        default: false
        }
    }

    /// Compares the key in `a` at `aKey` (one range per key column, in key order) with the key
    /// in `b` at `bKey`, where they lie.
    package func compare(_ a: UnsafeRawBufferPointer, _ aKey: [Range<Int>], _ b: UnsafeRawBufferPointer, _ bKey: [Range<Int>]) throws -> ComparisonResult {
        if local {
            for (slot, encoding) in encodings.enumerated() {
                let result = KeyOrder.compare(UnsafeRawBufferPointer(rebasing: a[aKey[slot]]), UnsafeRawBufferPointer(rebasing: b[bKey[slot]]), as: encoding)
                if result != .orderedSame { return result }
            }
            return .orderedSame
        }
        if zip(aKey, bKey).allSatisfy({ a[$0].elementsEqual(b[$1]) }) { return .orderedSame }
        return try compare(aKey.map { Array(a[$0]) }, bKey.map { Array(b[$0]) })
    }

    package func compare(_ a: [[UInt8]], _ b: [[UInt8]]) throws -> ComparisonResult {
        if a == b { return .orderedSame }
        if local { return order.compare(a, b) }
        var parameters: [String?] = []
        for key in [a, b] {
            for (value, encoding) in zip(key, encodings) {
                parameters.append(try value.withUnsafeBytes { try decoder.postgresText(of: $0, as: encoding) })
            }
        }
        serverComparisons += 1
        switch try connection.execute(query, parameters).scalar {
        case "-1": return .orderedAscending
        case "0": return .orderedSame
        default: return .orderedDescending
        }
    }
}
