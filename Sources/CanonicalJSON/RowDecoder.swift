#if canImport(Glibc)
import ByteStreams
import Cryptography
import Glibc
#endif

/// The inverse of `RowEncoder`: a canonical JSON line back to one row of PostgreSQL's COPY text
/// format, so that an archive can be loaded with `COPY … FROM STDIN` (restore).
package final class RowDecoder {
    package let columns: [ColumnSpec]
    private let names: [[UInt8]]
    /// Each name as the encoder writes it — quoted, escaped — then `:`: a member whose bytes
    /// are exactly these needs no decoding.
    private let quotedNames: [[UInt8]]
    let text = ByteBuffer(capacity: 1024)
    private let scratch = ByteBuffer(capacity: 256)

    /// A row that is not what the exporter writes: only a tampered or broken archive holds one.
    package enum DecodingError: Error, CustomStringConvertible, IntegrityViolation {
        package var isIntegrityFailure: Bool { true }

        case notCanonical(String)

        package var description: String {
            switch self {
            case .notCanonical(let reason): "the row is not a canonical pgseal row: \(reason)"
            }
        }
    }

    package init(columns: [ColumnSpec]) {
        self.columns = columns
        self.names = columns.map { Array($0.name.utf8) }
        self.quotedNames = columns.map { Array((JSONString.quoted($0.name) + ":").utf8) }
    }

    /// Appends the COPY text line (with its newline) for `line` to `out`.
    package func decode(line: UnsafeRawBufferPointer, into out: ByteBuffer) throws(DecodingError) {
        try decode(line: line, emitting: out)
    }

    /// The same checks as `decode`, without writing the COPY text: the deep level's row check.
    package func validate(line: UnsafeRawBufferPointer) throws(DecodingError) {
        try decode(line: line, emitting: nil)
    }

    private func decode(line: UnsafeRawBufferPointer, emitting out: ByteBuffer?) throws(DecodingError) {
        if let bad = UTF8Check.firstInvalidByte(line) { throw .notCanonical("invalid UTF-8 at byte \(bad)") }
        var cursor = JSONCursor(bytes: line)
        try cursor.expect(UInt8(ascii: "{"))
        for (index, column) in columns.enumerated() {
            if index > 0 {
                out?.append(CopyText.tab)
                try cursor.expect(UInt8(ascii: ","))
            }
            if !cursor.skip(quotedNames[index]) {
                // Not byte for byte the encoder's: decoded, then compared.
                scratch.removeAll()
                try cursor.string(into: scratch)
                guard scratch.bytes.elementsEqual(names[index]) else {
                    throw .notCanonical("member \(index + 1) is \(String(decoding: scratch.bytes, as: UTF8.self).debugDescription), not \(column.name.debugDescription)")
                }
                try cursor.expect(UInt8(ascii: ":"))
            }
            if cursor.peek == UInt8(ascii: "n") {
                try cursor.literal("null")
                out?.append(UInt8(ascii: "\\"))
                out?.append(UInt8(ascii: "N"))
                continue
            }
            text.removeAll()
            try value(&cursor, as: column.encoding)
            if let out { CopyText.escape(text.bytes, into: out) }
        }
        guard cursor.peek == UInt8(ascii: "}") else {
            throw .notCanonical(cursor.peek == UInt8(ascii: ",") ? "more members than the \(columns.count) columns" : "expected } at byte \(cursor.position)")
        }
        try cursor.expect(UInt8(ascii: "}"))
        guard cursor.atEnd else { throw .notCanonical("data after the row object") }
        out?.append(UInt8(ascii: "\n"))
    }

    /// One value of a canonical row (its raw JSON text) as PostgreSQL's text input: nil for
    /// `null`. For keys that the diff asks the server to compare.
    package func postgresText(of value: UnsafeRawBufferPointer, as encoding: ColumnEncoding) throws(DecodingError) -> String? {
        var cursor = JSONCursor(bytes: value)
        if cursor.peek == UInt8(ascii: "n") {
            try cursor.literal("null")
            return nil
        }
        text.removeAll()
        try self.value(&cursor, as: encoding)
        guard cursor.atEnd else { throw .notCanonical("data after a value") }
        return String(decoding: text.bytes, as: UTF8.self)
    }

    /// Writes one non-null value's PostgreSQL text form into `text`.
    func value(_ cursor: inout JSONCursor, as encoding: ColumnEncoding) throws(DecodingError) {
        switch encoding {
        case .integer, .float, .numeric, .boolean, .timestamptz, .json, .jsonText, .arrayText, .text:
            try scalar(&cursor, as: encoding, into: text)
        case .array(let element, let delimiter):
            try array(&cursor, element: element.columnEncoding, delimiter: delimiter, depth: 1)
        }
    }

    private func scalar(_ cursor: inout JSONCursor, as encoding: ColumnEncoding, into out: ByteBuffer) throws(DecodingError) {
        switch encoding {
        case .json:
            out.append(try cursor.compactJSONValue())
        case .boolean:
            if cursor.peek == UInt8(ascii: "t") { try cursor.literal("true"); out.append(UInt8(ascii: "t")) }
            else { try cursor.literal("false"); out.append(UInt8(ascii: "f")) }
        case .integer:
            let number = try cursor.skipValue()
            guard NumberText.isInteger(number) else { throw .notCanonical("an integer column holds \(NumberText.preview(number))") }
            out.append(number)
        case .float:
            if cursor.peek == UInt8(ascii: "\"") {
                scratch.removeAll()
                try cursor.string(into: scratch)
                guard NumberText.isSpecialFloat(scratch.bytes) else { throw .notCanonical("a float column holds a string other than NaN, Infinity, -Infinity") }
                out.append(scratch.bytes)
            } else {
                let number = try cursor.skipValue()
                guard NumberText.isJSONNumber(number) else { throw .notCanonical("a float column holds \(NumberText.preview(number))") }
                out.append(number)
            }
        case .numeric:
            scratch.removeAll()
            try cursor.string(into: scratch)
            guard NumberText.isNumeric(scratch.bytes) else { throw .notCanonical("a numeric column holds a string that is not a number") }
            out.append(scratch.bytes)
        case .timestamptz:
            scratch.removeAll()
            try cursor.string(into: scratch)
            try Self.appendTimestamptz(scratch.bytes, to: out)
        case .text, .array, .jsonText, .arrayText:
            try cursor.string(into: out)
        }
    }

    /// `[1,[2,null]]` → `{"1",{"2",NULL}}`: every element quoted, which PostgreSQL accepts for
    /// every element type.
    private func array(_ cursor: inout JSONCursor, element: ColumnEncoding, delimiter: UInt8, depth: Int) throws(DecodingError) {
        // PostgreSQL arrays have at most 6 dimensions (MAXDIM); deeper nesting is hostile.
        guard depth <= 6 else { throw .notCanonical("an array nested deeper than 6 dimensions") }
        try cursor.expect(UInt8(ascii: "["))
        text.append(UInt8(ascii: "{"))
        var first = true
        while cursor.peek != UInt8(ascii: "]") {
            guard cursor.peek != nil else { throw .notCanonical("an array is cut off") }
            if !first {
                try cursor.expect(UInt8(ascii: ","))
                text.append(delimiter)
            }
            first = false
            switch cursor.peek {
            case UInt8(ascii: "["):
                try array(&cursor, element: element, delimiter: delimiter, depth: depth + 1)
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
    /// goes back to PostgreSQL's BC form (`-0043-…` → `0044-… BC`). Anything but the form the
    /// exporter writes is refused.
    static func appendTimestamptz(_ value: UnsafeRawBufferPointer, to out: ByteBuffer) throws(DecodingError) {
        if value.elementsEqual("infinity".utf8) || value.elementsEqual("-infinity".utf8) {
            out.append(value)
            return
        }
        guard let stamp = TimestampText(value) else { throw .notCanonical("a timestamptz column holds a string that is not an RFC 3339 UTC time") }
        if stamp.astronomicalYear <= 0 {
            var digits = String(1 - stamp.astronomicalYear)
            while digits.count < 4 { digits = "0" + digits }
            out.append(digits)
            out.append(UnsafeRawBufferPointer(rebasing: value[stamp.monthDay]))
            out.append(" ")
            out.append(UnsafeRawBufferPointer(rebasing: value[stamp.time]))
            out.append("+00 BC")
        } else {
            out.append(UnsafeRawBufferPointer(rebasing: value[stamp.date]))
            out.append(" ")
            out.append(UnsafeRawBufferPointer(rebasing: value[stamp.time]))
            out.append("+00")
        }
    }
}

extension RowDecoder {
    /// Where, in `line`, the members at `indexes` (ascending) of a canonical row with
    /// `memberCount` members are: written into `ranges` (one per index), without allocating —
    /// the deep verification does this for every row.
    package static func memberRanges(of line: UnsafeRawBufferPointer, memberCount: Int, indexes: [Int],
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
            if slot < indexes.count, slot < ranges.count, indexes[slot] == index {
                ranges[slot] = start..<cursor.position
                slot += 1
            }
        }
    }

    /// The raw JSON texts of the members at `indexes`, in the order given.
    package static func memberValues(of line: UnsafeRawBufferPointer, memberCount: Int, indexes: [Int]) throws(DecodingError) -> [[UInt8]] {
        try MemberSelection(memberCount: memberCount, indexes: indexes).values(of: line)
    }
}

/// The members a reader wants from every row (a key's columns in key order, filter columns),
/// in the order it wants them: found in one pass in column order, handed back in its order.
/// Made once per table, used per row.
package struct MemberSelection: Sendable {
    package let memberCount: Int
    /// The wanted members, ascending and each once: the order a row is read in.
    private let columnOrder: [Int]
    /// For each wanted index, its place in `columnOrder`.
    private let positions: [Int]

    package init(memberCount: Int, indexes: [Int]) {
        self.memberCount = memberCount
        let order = Array(Set(indexes)).sorted()
        columnOrder = order
        positions = indexes.map { index in order.firstIndex(of: index) ?? 0 }
    }

    package func values(of line: UnsafeRawBufferPointer) throws(RowDecoder.DecodingError) -> [[UInt8]] {
        var ranges = [Range<Int>](repeating: 0..<0, count: columnOrder.count)
        try RowDecoder.memberRanges(of: line, memberCount: memberCount, indexes: columnOrder, into: &ranges)
        return positions.map { Array(line[ranges[$0]]) }
    }

    /// Where each wanted member's value is in `line`, in the order the indexes were given, into
    /// `ranges` (one element per index); `scratch` is the caller's, reused from row to row.
    package func ranges(of line: UnsafeRawBufferPointer, scratch: inout [Range<Int>], into ranges: inout [Range<Int>]) throws(RowDecoder.DecodingError) {
        if scratch.count != columnOrder.count { scratch = Array(repeating: 0..<0, count: columnOrder.count) }
        try RowDecoder.memberRanges(of: line, memberCount: memberCount, indexes: columnOrder, into: &scratch)
        for (slot, position) in positions.enumerated() { ranges[slot] = scratch[position] }
    }
}

/// Reads a JSON text token by token, for the row decoder.
package struct JSONCursor {
    let bytes: UnsafeRawBufferPointer
    package internal(set) var position = 0

    package init(bytes: UnsafeRawBufferPointer) { self.bytes = bytes }

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
    /// Moves past `expected` when the bytes at the cursor are exactly these; else stays.
    mutating func skip(_ expected: [UInt8]) -> Bool {
        guard let base = bytes.baseAddress, bytes.count - position >= expected.count else { return false }
        let equal = expected.withUnsafeBytes { wanted in wanted.baseAddress.map { memcmp($0, base + position, wanted.count) == 0 } ?? true }
        if equal { position += expected.count }
        return equal
    }

    package mutating func string(into out: ByteBuffer) throws(RowDecoder.DecodingError) {
        try expect(UInt8(ascii: "\""))
        while let c = peek {
            // A run of plain bytes goes over at once: most of every string.
            if c != UInt8(ascii: "\""), c != UInt8(ascii: "\\"), c >= 0x20 {
                var end = position + 1
                while end < bytes.count, bytes[end] != UInt8(ascii: "\""), bytes[end] != UInt8(ascii: "\\"), bytes[end] >= 0x20 { end += 1 }
                out.append(UnsafeRawBufferPointer(rebasing: bytes[position..<end]))
                position = end
                continue
            }
            position += 1
            switch c {
            case UInt8(ascii: "\""):
                return
            case UInt8(ascii: "\\"):
                guard let e = peek else { throw .notCanonical("a string is not terminated") }
                position += 1
                switch e {
                case UInt8(ascii: "b"): out.append(0x08)
                case UInt8(ascii: "f"): out.append(0x0C)
                case UInt8(ascii: "n"): out.append(0x0A)
                case UInt8(ascii: "r"): out.append(0x0D)
                case UInt8(ascii: "t"): out.append(0x09)
                case UInt8(ascii: "u"):
                    // Minimal escaping (FORMAT.md §3.1): only a control character without a
                    // short form is written `\u00xx`, in lowercase; anything else escaped is a
                    // row pgseal did not write, whose bytes its digest would not match twice.
                    let start = position
                    let scalar = try unicodeEscape()
                    let lowercase = bytes[start..<position].allSatisfy { !(UInt8(ascii: "A")...UInt8(ascii: "F")).contains($0) }
                    guard scalar.value < 0x20, ![0x08, 0x09, 0x0A, 0x0C, 0x0D].contains(scalar.value), lowercase else {
                        throw .notCanonical("an escape \\u\(String(decoding: bytes[start..<min(position, start + 4)], as: UTF8.self)) at byte \(start - 2), where the canonical form writes the character or its short escape")
                    }
                    out.append(String(Character(scalar)))
                case UInt8(ascii: "/"):
                    throw .notCanonical("an escaped / at byte \(position - 2), which the canonical form writes as it is")
                case UInt8(ascii: "\""), UInt8(ascii: "\\"): out.append(e)
                default: throw .notCanonical("bad escape \\\(Character(UnicodeScalar(e))) at byte \(position - 1)")
                }
            case 0..<0x20:
                throw .notCanonical("a control character inside a string at byte \(position - 1)")
            default:
                out.append(c)
            }
        }
        throw .notCanonical("a string is not terminated")
    }

    /// The scalar of a `\\uXXXX` escape (the `\\u` already read), joining a surrogate pair;
    /// a lone or mismatched surrogate is not a Unicode scalar, so not a row pgseal wrote.
    private mutating func unicodeEscape() throws(RowDecoder.DecodingError) -> Unicode.Scalar {
        let first = try hex4()
        var value = first
        if (0xD800..<0xDC00).contains(first) {
            guard peek == UInt8(ascii: "\\") else { throw .notCanonical("a lone surrogate \\u\(String(first, radix: 16)) at byte \(position)") }
            position += 1
            try expect(UInt8(ascii: "u"))
            let low = try hex4()
            guard (0xDC00..<0xE000).contains(low) else { throw .notCanonical("a surrogate \\u\(String(first, radix: 16)) not followed by a low surrogate at byte \(position)") }
            value = 0x10000 + ((first - 0xD800) << 10) + (low - 0xDC00)
        }
        guard let scalar = Unicode.Scalar(value) else { throw .notCanonical("a lone surrogate \\u\(String(value, radix: 16)) at byte \(position)") }
        return scalar
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
            if c == UInt8(ascii: "\\") {
                guard position < bytes.count else { break }
                position += 1
            }
        }
        throw .notCanonical("a string is not terminated")
    }

    /// Skips one value and returns its raw text.
    mutating func skipValue() throws(RowDecoder.DecodingError) -> UnsafeRawBufferPointer {
        let start = position
        var depth = 0
        repeat {
            guard let c = peek else {
                // A scalar standing alone (a key value passed on its own) ends with the input.
                if depth == 0, position > start { return UnsafeRawBufferPointer(rebasing: bytes[start..<position]) }
                throw .notCanonical("a value is cut off")
            }
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
