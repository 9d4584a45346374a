import Seal

/// The inverse of `RowEncoder`: a canonical JSON line back to one row of PostgreSQL's COPY text
/// format, so that an archive can be loaded with `COPY … FROM STDIN` (restore).
public final class RowDecoder {
    public let columns: [ColumnSpec]
    private let names: [[UInt8]]
    private let text = ByteBuffer(capacity: 1024)
    private let scratch = ByteBuffer(capacity: 256)

    public enum DecodingError: Error, CustomStringConvertible {
        case notCanonical(String)

        public var description: String {
            switch self {
            case .notCanonical(let reason): "the row is not a canonical pgseal row: \(reason)"
            }
        }
    }

    public init(columns: [ColumnSpec]) {
        self.columns = columns
        self.names = columns.map { Array($0.name.utf8) }
    }

    /// Appends the COPY text line (with its newline) for `line` to `out`.
    public func decode(line: UnsafeRawBufferPointer, into out: ByteBuffer) throws(DecodingError) {
        var cursor = JSONCursor(bytes: line)
        try cursor.expect(UInt8(ascii: "{"))
        for (index, column) in columns.enumerated() {
            if index > 0 {
                out.append(CopyText.tab)
                try cursor.expect(UInt8(ascii: ","))
            }
            scratch.removeAll()
            try cursor.string(into: scratch)
            guard scratch.bytes.elementsEqual(names[index]) else {
                throw .notCanonical("member \(index + 1) is \(String(decoding: scratch.bytes, as: UTF8.self)), not \(column.name)")
            }
            try cursor.expect(UInt8(ascii: ":"))
            if cursor.peek == UInt8(ascii: "n") {
                try cursor.literal("null")
                out.append(UInt8(ascii: "\\"))
                out.append(UInt8(ascii: "N"))
                continue
            }
            text.removeAll()
            try value(&cursor, as: column.encoding)
            CopyText.escape(text.bytes, into: out)
        }
        try cursor.expect(UInt8(ascii: "}"))
        guard cursor.atEnd else { throw .notCanonical("data after the row object") }
        out.append(UInt8(ascii: "\n"))
    }

    /// Writes one non-null value's PostgreSQL text form into `text`.
    private func value(_ cursor: inout JSONCursor, as encoding: ColumnEncoding) throws(DecodingError) {
        switch encoding {
        case .integer, .float, .numeric, .boolean, .timestamptz, .json, .text:
            try scalar(&cursor, as: encoding, into: text)
        case .array(let element, let delimiter):
            try array(&cursor, element: element.columnEncoding, delimiter: delimiter)
        }
    }

    private func scalar(_ cursor: inout JSONCursor, as encoding: ColumnEncoding, into out: ByteBuffer) throws(DecodingError) {
        switch encoding {
        case .json:
            out.append(try cursor.skipValue())
        case .boolean:
            if cursor.peek == UInt8(ascii: "t") { try cursor.literal("true"); out.append(UInt8(ascii: "t")) }
            else { try cursor.literal("false"); out.append(UInt8(ascii: "f")) }
        case .integer, .float, .numeric:
            if cursor.peek == UInt8(ascii: "\"") { try cursor.string(into: out) } else { out.append(try cursor.skipValue()) }
        case .timestamptz:
            scratch.removeAll()
            try cursor.string(into: scratch)
            Self.appendTimestamptz(scratch.bytes, to: out)
        case .text, .array:
            try cursor.string(into: out)
        }
    }

    /// `[1,[2,null]]` → `{"1",{"2",NULL}}`: every element quoted, which PostgreSQL accepts for
    /// every element type.
    private func array(_ cursor: inout JSONCursor, element: ColumnEncoding, delimiter: UInt8) throws(DecodingError) {
        try cursor.expect(UInt8(ascii: "["))
        text.append(UInt8(ascii: "{"))
        var first = true
        while cursor.peek != UInt8(ascii: "]") {
            if !first {
                try cursor.expect(UInt8(ascii: ","))
                text.append(delimiter)
            }
            first = false
            switch cursor.peek {
            case UInt8(ascii: "["):
                try array(&cursor, element: element, delimiter: delimiter)
            case UInt8(ascii: "n"):
                try cursor.literal("null")
                text.append(Array("NULL".utf8))
            default:
                let elementText = ByteBuffer(capacity: 64)
                try scalar(&cursor, as: element, into: elementText)
                text.append(UInt8(ascii: "\""))
                for byte in elementText.bytes {
                    if byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") { text.append(UInt8(ascii: "\\")) }
                    text.append(byte)
                }
                text.append(UInt8(ascii: "\""))
            }
        }
        try cursor.expect(UInt8(ascii: "]"))
        text.append(UInt8(ascii: "}"))
    }

    /// `2026-11-24T18:00:00.5Z` → `2026-11-24 18:00:00.5+00`; an expanded year at or below zero
    /// goes back to PostgreSQL's BC form (`-0043-…` → `0044-… BC`).
    static func appendTimestamptz(_ value: UnsafeRawBufferPointer, to out: ByteBuffer) {
        guard value.last == UInt8(ascii: "Z"), let t = value.firstIndex(of: UInt8(ascii: "T")) else {
            out.append(value)  // infinity, -infinity
            return
        }
        let date = String(decoding: value[..<t], as: UTF8.self)
        let time = UnsafeRawBufferPointer(rebasing: value[(t + 1)..<(value.count - 1)])
        let negative = date.hasPrefix("-")
        let parts = (negative ? String(date.dropFirst()) : date).split(separator: "-", maxSplits: 1)
        let year = Int(parts[0]) ?? 0
        let astronomical = negative ? -year : year
        if astronomical <= 0 {
            var digits = String(1 - astronomical)
            while digits.count < 4 { digits = "0" + digits }
            out.append(digits + "-" + parts[1] + " ")
            out.append(time)
            out.append("+00 BC")
        } else {
            out.append(date + " ")
            out.append(time)
            out.append("+00")
        }
    }
}

extension RowDecoder {
    /// Where, in `line`, the members at `indexes` (ascending) of a canonical row with
    /// `memberCount` members are: written into `ranges` (one per index), without allocating —
    /// the deep verification does this for every row.
    public static func memberRanges(of line: UnsafeRawBufferPointer, memberCount: Int, indexes: [Int],
                                    into ranges: inout [Range<Int>]) throws(DecodingError) {
        var cursor = JSONCursor(bytes: line)
        var slot = 0
        try cursor.expect(UInt8(ascii: "{"))
        for index in 0..<memberCount {
            if slot == indexes.count { return }  // the rest of the row is not wanted
            if index > 0 { try cursor.expect(UInt8(ascii: ",")) }
            try cursor.skipString()
            try cursor.expect(UInt8(ascii: ":"))
            let start = cursor.position
            _ = try cursor.skipValue()
            if slot < indexes.count, indexes[slot] == index {
                ranges[slot] = start..<cursor.position
                slot += 1
            }
        }
    }

    /// The raw JSON texts of the members at `indexes` (ascending): the key values, for merging
    /// an archive with a database.
    public static func memberValues(of line: UnsafeRawBufferPointer, memberCount: Int, indexes: [Int]) throws(DecodingError) -> [[UInt8]] {
        var ranges = [Range<Int>](repeating: 0..<0, count: indexes.count)
        try memberRanges(of: line, memberCount: memberCount, indexes: indexes, into: &ranges)
        return ranges.map { Array(line[$0]) }
    }
}

/// Reads a JSON text token by token, for the row decoder.
public struct JSONCursor {
    let bytes: UnsafeRawBufferPointer
    public internal(set) var position = 0

    public init(bytes: UnsafeRawBufferPointer) { self.bytes = bytes }

    var peek: UInt8? { position < bytes.count ? bytes[position] : nil }
    var atEnd: Bool { position == bytes.count }

    mutating func expect(_ byte: UInt8) throws(RowDecoder.DecodingError) {
        guard peek == byte else {
            throw .notCanonical("expected \(Character(UnicodeScalar(byte))) at byte \(position)")
        }
        position += 1
    }

    mutating func literal(_ word: String) throws(RowDecoder.DecodingError) {
        for byte in word.utf8 { try expect(byte) }
    }

    /// Reads a string and appends its unescaped UTF-8 to `out`.
    public mutating func string(into out: ByteBuffer) throws(RowDecoder.DecodingError) {
        try expect(UInt8(ascii: "\""))
        while let c = peek {
            position += 1
            switch c {
            case UInt8(ascii: "\""):
                return
            case UInt8(ascii: "\\"):
                guard let e = peek else { break }
                position += 1
                switch e {
                case UInt8(ascii: "b"): out.append(0x08)
                case UInt8(ascii: "f"): out.append(0x0C)
                case UInt8(ascii: "n"): out.append(0x0A)
                case UInt8(ascii: "r"): out.append(0x0D)
                case UInt8(ascii: "t"): out.append(0x09)
                case UInt8(ascii: "u"):
                    var scalar = try hex4()
                    if (0xD800..<0xDC00).contains(scalar), peek == UInt8(ascii: "\\") {
                        position += 1
                        try expect(UInt8(ascii: "u"))
                        let low = try hex4()
                        scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                    }
                    out.append(String(Character(UnicodeScalar(scalar) ?? "\u{FFFD}")))
                default: out.append(e)
                }
            default:
                out.append(c)
            }
        }
        throw .notCanonical("a string is not terminated")
    }

    private mutating func hex4() throws(RowDecoder.DecodingError) -> UInt32 {
        var value: UInt32 = 0
        for _ in 0..<4 {
            guard let c = peek, let digit = HexDigits.value(c) else { throw .notCanonical("bad \\u escape") }
            value = value * 16 + UInt32(digit)
            position += 1
        }
        return value
    }

    /// Skips a string without decoding it.
    mutating func skipString() throws(RowDecoder.DecodingError) {
        try expect(UInt8(ascii: "\""))
        while let c = peek {
            position += 1
            if c == UInt8(ascii: "\"") { return }
            if c == UInt8(ascii: "\\") { position += 1 }
        }
        throw .notCanonical("a string is not terminated")
    }

    /// Skips one value and returns its raw text.
    mutating func skipValue() throws(RowDecoder.DecodingError) -> UnsafeRawBufferPointer {
        let start = position
        var depth = 0
        repeat {
            guard let c = peek else { throw .notCanonical("a value is cut off") }
            switch c {
            case UInt8(ascii: "\""):
                try skipString()
                continue
            case UInt8(ascii: "{"), UInt8(ascii: "["): depth += 1
            case UInt8(ascii: "}"), UInt8(ascii: "]"):
                if depth == 0 { return UnsafeRawBufferPointer(rebasing: bytes[start..<position]) }
                depth -= 1
            case UInt8(ascii: ","):
                if depth == 0 { return UnsafeRawBufferPointer(rebasing: bytes[start..<position]) }
            default: break
            }
            position += 1
        } while depth > 0 || (peek != UInt8(ascii: ",") && peek != UInt8(ascii: "}") && peek != UInt8(ascii: "]"))
        return UnsafeRawBufferPointer(rebasing: bytes[start..<position])
    }
}
