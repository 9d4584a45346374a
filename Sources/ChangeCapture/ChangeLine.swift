import Foundation
import CanonicalJSON

/// A committed row change of one table, as a change segment holds it (docs/FORMAT.md §11,
/// draft): values are PostgreSQL's text output, a TOASTed value the change left alone is
/// `unchanged` (never read as empty or null: replay keeps the row's previous value).
package struct RowChange: Equatable {
    package enum Operation: String { case insert, update, delete }

    package let operation: Operation
    package let table: String
    /// The new row (insert, update): one value per column of the table, in its order.
    package let row: [PgOutputMessage.TupleValue]?
    /// The old key (update when the key changed, delete): the key columns' values, or the whole
    /// old row under REPLICA IDENTITY FULL.
    package let oldKey: [PgOutputMessage.TupleValue]?

    package init(operation: Operation, table: String, row: [PgOutputMessage.TupleValue]?, oldKey: [PgOutputMessage.TupleValue]?) {
        self.operation = operation
        self.table = table
        self.row = row
        self.oldKey = oldKey
    }
}

/// What a change line says of its transaction.
package struct CommitStamp: Equatable {
    package let xid: UInt32
    package let commitLSN: LSN
    /// Microseconds since 2000-01-01 UTC, as the server sent it.
    package let committedAt: Int64

    package init(xid: UInt32, commitLSN: LSN, committedAt: Int64) {
        self.xid = xid
        self.commitLSN = commitLSN
        self.committedAt = committedAt
    }

    /// A time as change lines write it, so that times compare as their texts do.
    package static func text(of date: Date) -> String {
        let micros = ((date.timeIntervalSince1970 - 946_684_800) * 1_000_000).rounded(.down)
        guard micros.isFinite, abs(micros) < 9e18 else { return date > Date(timeIntervalSince1970: 0) ? "9999-12-31T23:59:59.999999Z" : "0000-01-01T00:00:00.000000Z" }
        return CommitStamp(xid: 0, commitLSN: .zero, committedAt: Int64(micros)).committedAtText
    }

    /// Whether `text` has the form change lines write times in: `YYYY-MM-DDTHH:MM:SS.ffffffZ`.
    package static func isText(_ text: String) -> Bool {
        let bytes = Array(text.utf8)
        guard bytes.count == 27 else { return false }
        for (index, byte) in bytes.enumerated() {
            let expected: UInt8? = switch index {
            case 4, 7: UInt8(ascii: "-")
            case 10: UInt8(ascii: "T")
            case 13, 16: UInt8(ascii: ":")
            case 19: UInt8(ascii: ".")
            case 26: UInt8(ascii: "Z")
            default: nil
            }
            if let expected { guard byte == expected else { return false } } else { guard byte >= 0x30, byte <= 0x39 else { return false } }
        }
        return true
    }

    /// RFC 3339 in UTC with microseconds (`2026-12-04T18:15:07.123456Z`), computed in integers
    /// (days to a civil date as in Howard Hinnant's algorithm): no calendar, no locale.
    package var committedAtText: String {
        let perDay: Int64 = 86_400_000_000
        let (days, micros) = (committedAt.dividedRoundingDown(by: perDay), committedAt - committedAt.dividedRoundingDown(by: perDay) * perDay)
        // Days since 2000-01-01 → since 0000-03-01.
        let z = days + 10_957 + 719_468
        let era = z.dividedRoundingDown(by: 146_097)
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let monthIndex = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * monthIndex + 2) / 5 + 1
        let month = monthIndex < 10 ? monthIndex + 3 : monthIndex - 9
        let year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0)
        let second = micros / 1_000_000
        func pad(_ n: Int64, _ width: Int) -> String {
            let digits = String(n)
            return String(repeating: "0", count: max(0, width - digits.count)) + digits
        }
        return "\(pad(year, 4))-\(pad(month, 2))-\(pad(day, 2))T\(pad(second / 3600, 2)):\(pad(second / 60 % 60, 2)):\(pad(second % 60, 2)).\(pad(micros % 1_000_000, 6))Z"
    }
}

extension Int64 {
    /// Division that rounds toward minus infinity (times before 2000 are negative).
    fileprivate func dividedRoundingDown(by divisor: Int64) -> Int64 {
        let quotient = self / divisor
        return (self % divisor != 0 && (self < 0) != (divisor < 0)) ? quotient - 1 : quotient
    }
}

/// A table's columns as the segment's definitions state them, and which are its key.
package struct ChangeTable {
    package let name: String
    package let columns: [ColumnSpec]
    package let keyColumns: [Int]

    package init(name: String, columns: [ColumnSpec], keyColumns: [Int]) {
        self.name = name
        self.columns = columns
        self.keyColumns = keyColumns
    }
}

package enum ChangeLineError: Error, Equatable, CustomStringConvertible {
    case columnCount(table: String, expected: Int, found: Int)
    case unchangedKey(table: String, column: String)
    case missingKey(table: String)

    package var description: String {
        switch self {
        case .columnCount(let table, let expected, let found):
            "a change of \(table) has \(found) values where its definition has \(expected) columns: the table changed while it was followed"
        case .unchangedKey(let table, let column):
            "a change of \(table) sent key column \(column) as an unchanged TOASTed value: a key must be sent"
        case .missingKey(let table):
            "a change of \(table) has no key: the table needs a primary key or REPLICA IDENTITY (docs/OPERATIONS.md)"
        }
    }
}

/// Writes change lines: one canonical JSON object a line, keys in a fixed order —
/// `lsn`, `xid`, `committed_at`, `op`, `table`, `key`, then `old_key` (when the key changed),
/// `row` (insert, update; the columns an update left unchanged absent) and `unchanged` (their
/// names, when any). Values are encoded exactly as pgseal/2 writes rows.
package enum ChangeLine {
    package static func append(_ change: RowChange, of table: ChangeTable, stamp: CommitStamp, to out: ByteBuffer) throws(ChangeLineError) {
        let count = table.columns.count
        if let row = change.row, row.count != count { throw .columnCount(table: table.name, expected: count, found: row.count) }
        out.append("{\"lsn\":\"\(stamp.commitLSN)\",\"xid\":\(stamp.xid),\"committed_at\":\"\(stamp.committedAtText)\",\"op\":\"\(change.operation.rawValue)\",\"table\":")
        JSONString.append(table.name, to: out)
        // The key: from the new row (insert, update) or from the old key (delete).
        let keySource: [PgOutputMessage.TupleValue]
        switch change.operation {
        case .insert, .update:
            keySource = change.row ?? []
        case .delete:
            guard let old = change.oldKey else { throw .missingKey(table: table.name) }
            keySource = old
        }
        out.append(",\"key\":")
        let keyStart = out.count
        try appendKey(keySource, of: table, to: out)
        if change.operation == .update, let old = change.oldKey {
            // Under REPLICA IDENTITY FULL every update sends the old row: its key is written only
            // when it differs from the new one.
            let oldKey = ByteBuffer(capacity: out.count - keyStart + 16)
            try appendKey(old, of: table, to: oldKey)
            let newKey = UnsafeRawBufferPointer(start: out.base + keyStart, count: out.count - keyStart)
            let previous = UnsafeRawBufferPointer(start: oldKey.base, count: oldKey.count)
            if !newKey.elementsEqual(previous) {
                out.append(",\"old_key\":")
                out.append(previous)
            }
        }
        guard let row = change.row, change.operation != .delete else {
            out.append(UInt8(ascii: "}"))
            return
        }
        out.append(",\"row\":{")
        var first = true
        var unchanged: [String] = []
        for (index, column) in table.columns.enumerated() {
            if case .unchangedToast = row[index] {
                unchanged.append(column.name)
                continue
            }
            if !first { out.append(UInt8(ascii: ",")) }
            first = false
            JSONString.append(column.name, to: out)
            out.append(UInt8(ascii: ":"))
            appendValue(row[index], as: column.encoding, to: out)
        }
        out.append(UInt8(ascii: "}"))
        if !unchanged.isEmpty {
            out.append(",\"unchanged\":[")
            for (index, name) in unchanged.enumerated() {
                if index > 0 { out.append(UInt8(ascii: ",")) }
                JSONString.append(name, to: out)
            }
            out.append(UInt8(ascii: "]"))
        }
        out.append(UInt8(ascii: "}"))
    }

    /// The key columns' values as a JSON array. An old key under the default identity carries
    /// the key columns' values and nulls elsewhere; under FULL, the whole old row.
    private static func appendKey(_ values: [PgOutputMessage.TupleValue], of table: ChangeTable, to out: ByteBuffer) throws(ChangeLineError) {
        guard values.count == table.columns.count else { throw .columnCount(table: table.name, expected: table.columns.count, found: values.count) }
        guard !table.keyColumns.isEmpty else { throw .missingKey(table: table.name) }
        out.append(UInt8(ascii: "["))
        for (position, index) in table.keyColumns.enumerated() {
            guard table.columns.indices.contains(index) else { throw .missingKey(table: table.name) }
            if position > 0 { out.append(UInt8(ascii: ",")) }
            if case .unchangedToast = values[index] { throw .unchangedKey(table: table.name, column: table.columns[index].name) }
            appendValue(values[index], as: table.columns[index].encoding, to: out)
        }
        out.append(UInt8(ascii: "]"))
    }

    private static func appendValue(_ value: PgOutputMessage.TupleValue, as encoding: ColumnEncoding, to out: ByteBuffer) {
        switch value {
        case .null, .unchangedToast: out.append("null")
        case .text(let bytes): bytes.withUnsafeBytes { CanonicalValue.append(text: $0, as: encoding, to: out) }
        }
    }

    /// A TRUNCATE of `tables` (qualified names): `lsn`, `xid`, `committed_at`, `op`, `tables`.
    package static func appendTruncate(of tables: [String], stamp: CommitStamp, to out: ByteBuffer) {
        out.append("{\"lsn\":\"\(stamp.commitLSN)\",\"xid\":\(stamp.xid),\"committed_at\":\"\(stamp.committedAtText)\",\"op\":\"truncate\",\"tables\":[")
        for (index, table) in tables.enumerated() {
            if index > 0 { out.append(UInt8(ascii: ",")) }
            JSONString.append(table, to: out)
        }
        out.append("]}")
    }
}
