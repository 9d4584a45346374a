/// One exported column: its name and how its values are written.
public struct ColumnSpec: Sendable, Equatable {
    public let name: String
    public let encoding: ColumnEncoding

    public init(name: String, encoding: ColumnEncoding) {
        self.name = name
        self.encoding = encoding
    }
}

public enum RowEncodingError: Error, CustomStringConvertible {
    case fieldCount(expected: Int, found: Int)

    public var description: String {
        switch self {
        case .fieldCount(let expected, let found):
            "a COPY row had \(found) fields where \(expected) were expected"
        }
    }
}

/// Turns rows of PostgreSQL's COPY text output into canonical JSON lines: an object with the
/// columns in manifest order. It also remembers where each key column's value landed in the
/// line, so that the chunker can record first and last keys and catch duplicate keys.
public final class RowEncoder {
    public let columns: [ColumnSpec]
    public let keyColumnIndexes: [Int]
    /// `{"name":` for the first column, `,"name":` for the others.
    private let memberPrefixes: [[UInt8]]
    private let nullBytes: [UInt8] = Array("null".utf8)
    private let unescaped = ByteBuffer(capacity: 1024)
    private let values = ValueEncoder()
    private var fieldStarts: [Int]
    private var fieldEnds: [Int]
    /// Ranges, in the output buffer, of the key values of the row encoded last.
    public private(set) var keyRanges: [Range<Int>]

    public init(columns: [ColumnSpec], keyColumnIndexes: [Int]) {
        self.columns = columns
        self.keyColumnIndexes = keyColumnIndexes
        self.memberPrefixes = columns.enumerated().map { index, column in
            Array(((index == 0 ? "{" : ",") + JSONString.quoted(column.name) + ":").utf8)
        }
        self.fieldStarts = Array(repeating: 0, count: columns.count)
        self.fieldEnds = Array(repeating: 0, count: columns.count)
        self.keyRanges = Array(repeating: 0..<0, count: keyColumnIndexes.count)
    }

    /// Appends the canonical JSON line for `copyLine` (one COPY text row, newline optional)
    /// to `out` without a newline, and returns the line's range in `out`.
    @discardableResult
    public func encode(copyLine: UnsafeRawBufferPointer, into out: ByteBuffer) throws(RowEncodingError) -> Range<Int> {
        var line = copyLine
        if line.last == UInt8(ascii: "\n") { line = UnsafeRawBufferPointer(rebasing: line.dropLast()) }
        try splitFields(line)
        let rowStart = out.count
        var keySlot = 0
        for index in 0..<columns.count {
            out.append(memberPrefixes[index])
            let valueStart = out.count
            let field = UnsafeRawBufferPointer(rebasing: line[fieldStarts[index]..<fieldEnds[index]])
            if CopyText.isNull(field) {
                out.append(nullBytes)
            } else if field.firstIndex(of: CopyText.backslash) == nil {
                values.encode(field, as: columns[index].encoding, into: out)
            } else {
                unescaped.removeAll()
                CopyText.unescape(field, into: unescaped)
                values.encode(unescaped.bytes, as: columns[index].encoding, into: out)
            }
            if keySlot < keyColumnIndexes.count, keyColumnIndexes[keySlot] == index {
                keyRanges[keySlot] = valueStart..<out.count
                keySlot += 1
            }
        }
        out.append(UInt8(ascii: "}"))
        return rowStart..<out.count
    }

    private func splitFields(_ line: UnsafeRawBufferPointer) throws(RowEncodingError) {
        var field = 0
        var start = 0
        let n = line.count
        var i = 0
        while i < n {
            if line[i] == CopyText.tab {
                guard field < columns.count - 1 else {
                    throw .fieldCount(expected: columns.count, found: line.count(where: { $0 == CopyText.tab }) + 1)
                }
                fieldStarts[field] = start
                fieldEnds[field] = i
                field += 1
                start = i + 1
            }
            i += 1
        }
        guard field == columns.count - 1 else { throw .fieldCount(expected: columns.count, found: field + 1) }
        fieldStarts[field] = start
        fieldEnds[field] = n
    }

    /// The key of the row encoded last, as a JSON array (`["…"]`), for manifests and messages.
    public func keyJSON(in buffer: ByteBuffer) -> String {
        var parts: [String] = []
        for range in keyRanges { parts.append(String(decoding: buffer.bytes(range), as: UTF8.self)) }
        return "[" + parts.joined(separator: ",") + "]"
    }
}
