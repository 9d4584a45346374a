/// Reads change lines (docs/FORMAT.md §11) from a segment — bytes from outside, read as
/// hostile: members in exactly the order the writer puts them, every value checked against its
/// column's encoding and turned into PostgreSQL's text form, which only ever travels as a
/// statement parameter.
package final class ChangeLineDecoder {
    /// A table as the segment's definitions state it.
    package struct Table {
        package let columns: [ColumnSpec]
        package let keyColumns: [Int]

        package init(columns: [ColumnSpec], keyColumns: [Int]) {
            self.columns = columns
            self.keyColumns = keyColumns
        }
    }

    package enum Operation: String { case insert, update, delete, truncate }

    /// One decoded line. Values are PostgreSQL text (nil: NULL).
    package struct Change {
        package var lsn: String = ""
        package var xid: UInt64 = 0
        package var committedAt: String = ""
        package var operation: Operation = .insert
        package var table: String = ""
        package var key: [String?] = []
        package var oldKey: [String?]?
        /// One entry per column: nil when absent (`unchanged`), else the value.
        package var row: [String??]?
        package var tables: [String] = []
    }

    private let tables: [String: (table: Table, decoder: RowDecoder, quotedNames: [[UInt8]])]
    private let scratch = ByteBuffer(capacity: 256)

    package init(tables: [String: Table]) {
        self.tables = tables.mapValues { table in
            (table, RowDecoder(columns: table.columns), table.columns.map { Array((JSONString.quoted($0.name) + ":").utf8) })
        }
    }

    package func decode(_ line: UnsafeRawBufferPointer) throws(RowDecoder.DecodingError) -> Change {
        if let bad = UTF8Check.firstInvalidByte(line) { throw .notCanonical("invalid UTF-8 at byte \(bad)") }
        var cursor = JSONCursor(bytes: line)
        var change = Change()
        try cursor.expect(UInt8(ascii: "{"))
        try member(&cursor, "lsn", first: true)
        change.lsn = try string(&cursor)
        try member(&cursor, "xid")
        let xid = try cursor.skipValue()
        guard NumberText.isInteger(xid), xid.first != UInt8(ascii: "-"), xid.count <= 10, let value = UInt64(String(decoding: xid, as: UTF8.self)) else {
            throw .notCanonical("xid is not a transaction id")
        }
        change.xid = value
        try member(&cursor, "committed_at")
        change.committedAt = try string(&cursor)
        try member(&cursor, "op")
        guard let operation = Operation(rawValue: try string(&cursor)) else { throw .notCanonical("op is not insert, update, delete or truncate") }
        change.operation = operation
        if operation == .truncate {
            try member(&cursor, "tables")
            try cursor.expect(UInt8(ascii: "["))
            while cursor.peek != UInt8(ascii: "]") {
                if !change.tables.isEmpty { try cursor.expect(UInt8(ascii: ",")) }
                let name = try string(&cursor)
                guard tables[name] != nil else { throw .notCanonical("truncate names \(name.debugDescription), which the segment does not define") }
                guard change.tables.count < tables.count, !change.tables.contains(name) else { throw .notCanonical("truncate names a table twice") }
                change.tables.append(name)
            }
            try cursor.expect(UInt8(ascii: "]"))
            guard !change.tables.isEmpty else { throw .notCanonical("truncate names no table") }
        } else {
            try member(&cursor, "table")
            change.table = try string(&cursor)
            guard let entry = tables[change.table] else { throw .notCanonical("table \(change.table.debugDescription) is not defined in the segment") }
            try member(&cursor, "key")
            change.key = try keyValues(&cursor, entry.table, entry.decoder)
            if operation == .update, cursor.skip(Array(",\"old_key\":".utf8)) {
                change.oldKey = try keyValues(&cursor, entry.table, entry.decoder)
            }
            if operation != .delete {
                try member(&cursor, "row")
                change.row = try row(&cursor, entry.table, entry.decoder, entry.quotedNames)
                var absent = entry.table.columns.indices.filter { change.row?[$0] == .none }.map { entry.table.columns[$0].name }
                if operation == .update, cursor.skip(Array(",\"unchanged\":".utf8)) {
                    try cursor.expect(UInt8(ascii: "["))
                    var listed: [String] = []
                    while cursor.peek != UInt8(ascii: "]") {
                        if !listed.isEmpty { try cursor.expect(UInt8(ascii: ",")) }
                        guard listed.count < entry.table.columns.count else { throw .notCanonical("unchanged lists more names than the table has columns") }
                        listed.append(try string(&cursor))
                    }
                    try cursor.expect(UInt8(ascii: "]"))
                    guard !listed.isEmpty, listed == absent else { throw .notCanonical("unchanged does not name exactly the columns the row leaves out") }
                    absent = []
                }
                guard absent.isEmpty else { throw .notCanonical("the row leaves out \(absent.joined(separator: ", ")) without listing them as unchanged") }
                for index in entry.table.keyColumns where change.row?[index] == .none {
                    throw .notCanonical("a key column is listed as unchanged")
                }
                for (position, index) in entry.table.keyColumns.enumerated() where change.row?[index] != .some(change.key[position]) {
                    throw .notCanonical("key is not the row's key columns")
                }
                if let oldKey = change.oldKey, oldKey == change.key { throw .notCanonical("old_key is the key: an update that kept its key has none") }
            }
        }
        try cursor.expect(UInt8(ascii: "}"))
        guard cursor.atEnd else { throw .notCanonical("data after the change object") }
        return change
    }

    private func member(_ cursor: inout JSONCursor, _ name: String, first: Bool = false) throws(RowDecoder.DecodingError) {
        if !first { try cursor.expect(UInt8(ascii: ",")) }
        guard cursor.skip(Array("\"\(name)\":".utf8)) else { throw .notCanonical("expected member \(name) at byte \(cursor.position)") }
    }

    private func string(_ cursor: inout JSONCursor) throws(RowDecoder.DecodingError) -> String {
        scratch.removeAll()
        try cursor.string(into: scratch)
        return String(decoding: scratch.bytes, as: UTF8.self)
    }

    private func text(_ cursor: inout JSONCursor, _ encoding: ColumnEncoding, _ decoder: RowDecoder) throws(RowDecoder.DecodingError) -> String? {
        if cursor.peek == UInt8(ascii: "n") {
            try cursor.literal("null")
            return nil
        }
        decoder.text.removeAll()
        try decoder.value(&cursor, as: encoding)
        return String(decoding: decoder.text.bytes, as: UTF8.self)
    }

    private func keyValues(_ cursor: inout JSONCursor, _ table: Table, _ decoder: RowDecoder) throws(RowDecoder.DecodingError) -> [String?] {
        try cursor.expect(UInt8(ascii: "["))
        var values: [String?] = []
        for (position, index) in table.keyColumns.enumerated() {
            if position > 0 { try cursor.expect(UInt8(ascii: ",")) }
            guard table.columns.indices.contains(index) else { throw .notCanonical("the table's key names no column") }
            values.append(try text(&cursor, table.columns[index].encoding, decoder))
        }
        try cursor.expect(UInt8(ascii: "]"))
        return values
    }

    private func row(_ cursor: inout JSONCursor, _ table: Table, _ decoder: RowDecoder, _ quotedNames: [[UInt8]]) throws(RowDecoder.DecodingError) -> [String??] {
        try cursor.expect(UInt8(ascii: "{"))
        var values: [String??] = Array(repeating: .none, count: table.columns.count)
        var next = 0
        var any = false
        while cursor.peek != UInt8(ascii: "}") {
            if any { try cursor.expect(UInt8(ascii: ",")) }
            any = true
            // Columns in definition order, some left out: the next name must be a later column.
            guard let index = (next..<table.columns.count).first(where: { cursor.skip(quotedNames[$0]) }) else {
                throw .notCanonical("a row member at byte \(cursor.position) is not a column in the table's order")
            }
            values[index] = .some(try text(&cursor, table.columns[index].encoding, decoder))
            next = index + 1
        }
        try cursor.expect(UInt8(ascii: "}"))
        return values
    }
}
