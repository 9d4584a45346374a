import Foundation

/// One exported column: its name and how its values are written.
package struct ColumnSpec: Sendable, Equatable {
    package let name: String
    package let encoding: ColumnEncoding

    package init(name: String, encoding: ColumnEncoding) {
        self.name = name
        self.encoding = encoding
    }
}

package enum RowEncodingError: Error, CustomStringConvertible {
    case fieldCount(expected: Int, found: Int)

    package var description: String {
        switch self {
        case .fieldCount(let expected, let found):
            "a COPY row had \(found) fields where \(expected) were expected"
        }
    }
}

/// Turns rows of PostgreSQL's COPY text output into canonical JSON lines: an object with the
/// columns in manifest order. It also remembers where each key column's value landed in the
/// line, so that the chunker can record first and last keys and catch duplicate keys.
///
/// This is the export's innermost loop (8 million rows for the 1M-user fixture): its tables
/// live in buffers allocated once, so that encoding a row costs no allocation and no
/// reference counting.
package final class RowEncoder {
    package let columns: [ColumnSpec]
    package let keyColumnIndexes: [Int]
    private let columnCount: Int
    private let encodings: UnsafeMutablePointer<ColumnEncoding>
    /// `{"name":` for the first column, `,"name":` for the others, back to back.
    private let prefixes: UnsafeMutablePointer<UInt8>
    private let prefixOffsets: UnsafeMutablePointer<Int>
    /// For each column, its position in the key, or -1.
    private let keySlots: UnsafeMutablePointer<Int>
    private let fieldStarts: UnsafeMutablePointer<Int>
    private let fieldEnds: UnsafeMutablePointer<Int>
    private let keyStarts: UnsafeMutablePointer<Int>
    private let keyEnds: UnsafeMutablePointer<Int>
    private let unescaped = ByteBuffer(capacity: 1024)
    private let values = ValueEncoder()

    package init(columns: [ColumnSpec], keyColumnIndexes: [Int]) {
        self.columns = columns
        self.keyColumnIndexes = keyColumnIndexes
        columnCount = columns.count
        encodings = .allocate(capacity: max(columns.count, 1))
        encodings.initialize(from: columns.map(\.encoding), count: columns.count)
        let prefixList = columns.enumerated().map { index, column in
            Array(((index == 0 ? "{" : ",") + JSONString.quoted(column.name) + ":").utf8)
        }
        let joined = prefixList.flatMap { $0 }
        prefixes = .allocate(capacity: max(joined.count, 1))
        prefixes.initialize(from: joined, count: joined.count)
        prefixOffsets = .allocate(capacity: columns.count + 1)
        var offset = 0
        for (index, prefix) in prefixList.enumerated() {
            prefixOffsets[index] = offset
            offset += prefix.count
        }
        prefixOffsets[columns.count] = offset
        keySlots = .allocate(capacity: max(columns.count, 1))
        keySlots.initialize(repeating: -1, count: max(columns.count, 1))
        for (slot, index) in keyColumnIndexes.enumerated() { keySlots[index] = slot }
        fieldStarts = .allocate(capacity: max(columns.count, 1))
        fieldEnds = .allocate(capacity: max(columns.count, 1))
        keyStarts = .allocate(capacity: max(keyColumnIndexes.count, 1))
        keyEnds = .allocate(capacity: max(keyColumnIndexes.count, 1))
    }

    deinit {
        encodings.deinitialize(count: columnCount)
        encodings.deallocate()
        prefixes.deallocate()
        for pointer in [prefixOffsets, keySlots, fieldStarts, fieldEnds, keyStarts, keyEnds] { pointer.deallocate() }
    }

    /// Appends the canonical JSON line for `copyLine` (one COPY text row, newline optional)
    /// to `out` without a newline, and returns the line's range in `out`.
    @discardableResult
    package func encode(copyLine: UnsafeRawBufferPointer, into out: ByteBuffer) throws(RowEncodingError) -> Range<Int> {
        guard let base = copyLine.baseAddress?.assumingMemoryBound(to: UInt8.self), copyLine.count > 0 else {
            throw .fieldCount(expected: columnCount, found: 0)
        }
        var length = copyLine.count
        if base[length - 1] == UInt8(ascii: "\n") { length -= 1 }
        try splitFields(base, length)
        let rowStart = out.count
        for index in 0..<columnCount {
            let prefixStart = prefixOffsets[index]
            out.append(UnsafeRawBufferPointer(start: prefixes + prefixStart, count: prefixOffsets[index + 1] - prefixStart))
            let valueStart = out.count
            let field = UnsafeRawBufferPointer(start: base + fieldStarts[index], count: fieldEnds[index] - fieldStarts[index])
            if CopyText.isNull(field) {
                out.append(ValueEncoder.nullBytes)
            } else if memchr(base + fieldStarts[index], Int32(CopyText.backslash), field.count) == nil {
                values.encode(field, as: encodings[index], into: out)
            } else {
                unescaped.removeAll()
                CopyText.unescape(field, into: unescaped)
                values.encode(unescaped.bytes, as: encodings[index], into: out)
            }
            let slot = keySlots[index]
            if slot >= 0 {
                keyStarts[slot] = valueStart
                keyEnds[slot] = out.count
            }
        }
        out.append(UInt8(ascii: "}"))
        return rowStart..<out.count
    }

    private func splitFields(_ base: UnsafePointer<UInt8>, _ length: Int) throws(RowEncodingError) {
        var start = 0
        for field in 0..<(columnCount - 1) {
            guard let tab = memchr(base + start, Int32(CopyText.tab), length - start) else {
                throw .fieldCount(expected: columnCount, found: field + 1)
            }
            let end = UnsafeRawPointer(tab) - UnsafeRawPointer(base)
            fieldStarts[field] = start
            fieldEnds[field] = end
            start = end + 1
        }
        if memchr(base + start, Int32(CopyText.tab), length - start) != nil {
            let extra = UnsafeBufferPointer(start: base + start, count: length - start).count { $0 == CopyText.tab }
            throw .fieldCount(expected: columnCount, found: columnCount + extra)
        }
        fieldStarts[columnCount - 1] = start
        fieldEnds[columnCount - 1] = length
    }

    /// Where, in the output buffer, the value of key column `slot` of the row encoded last is.
    @inline(__always)
    package func keyValueRange(_ slot: Int) -> Range<Int> { keyStarts[slot]..<keyEnds[slot] }
}

/// One value's canonical JSON, from PostgreSQL's text output (not COPY-escaped: a logical
/// replication stream sends values as the type's output function writes them), for writers
/// other than the COPY path — the change segments' lines.
package enum CanonicalValue {
    package static func append(text: UnsafeRawBufferPointer, as encoding: ColumnEncoding, to out: ByteBuffer) {
        ValueEncoder().encode(text, as: encoding, into: out)
    }
}
