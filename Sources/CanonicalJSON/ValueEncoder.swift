/// Writes one non-NULL value, given as PostgreSQL text output with COPY escapes already
/// resolved, as its canonical JSON form.
struct ValueEncoder {
    /// Scratch space for array elements, reused across rows.
    let elementScratch = ByteBuffer(capacity: 256)

    func encode(_ text: UnsafeRawBufferPointer, as encoding: ColumnEncoding, into out: ByteBuffer) {
        switch encoding {
        case .integer:
            out.append(text)
        case .float:
            if Self.isNonFiniteFloat(text) { JSONString.append(text, to: out) } else { out.append(text) }
        case .numeric, .text, .jsonText, .arrayText:
            JSONString.append(text, to: out)
        case .boolean:
            out.append(text.first == UInt8(ascii: "t") ? Self.trueBytes : Self.falseBytes)
        case .timestamptz:
            Self.appendTimestamptz(text, to: out)
        case .json:
            Self.appendMinifiedJSON(text, to: out)
        case .array(let element, let delimiter):
            var parser = ArrayLiteralParser(text: text, delimiter: delimiter)
            parser.encode(element: element, with: self, into: out)
        }
    }

    static let trueBytes = StaticBytes("true")
    static let falseBytes = StaticBytes("false")
    static let nullBytes = StaticBytes("null")

    /// `NaN`, `Infinity` and `-Infinity` have no JSON number form.
    static func isNonFiniteFloat(_ text: UnsafeRawBufferPointer) -> Bool {
        guard let first = text.first else { return false }
        return first == UInt8(ascii: "N") || first == UInt8(ascii: "I")
            || (first == UInt8(ascii: "-") && text.count > 1 && text[1] == UInt8(ascii: "I"))
    }

    /// `2026-11-24 18:00:00.123456+00` → `"2026-11-24T18:00:00.123456Z"`; a BC year becomes the
    /// ISO 8601 expanded year (1 BC = `0000`, 44 BC = `-0043`); `infinity` stays a string.
    static func appendTimestamptz(_ text: UnsafeRawBufferPointer, to out: ByteBuffer) {
        var body = text
        var isBC = false
        if endsWith(body, UInt8(ascii: " "), UInt8(ascii: "B"), UInt8(ascii: "C")) {
            isBC = true
            body = UnsafeRawBufferPointer(rebasing: body[0..<(body.count - 3)])
        }
        guard endsWith(body, UInt8(ascii: "+"), UInt8(ascii: "0"), UInt8(ascii: "0")),
              let space = body.firstIndex(of: UInt8(ascii: " "))
        else {
            // infinity, -infinity (or output of a server that ignored TimeZone=UTC)
            JSONString.append(text, to: out)
            return
        }
        out.reserve(body.count + 8)
        out.appendUnchecked(UInt8(ascii: "\""))
        let dash = body.firstIndex(of: UInt8(ascii: "-"))!
        if isBC {
            var year = 0
            for digit in body[..<dash] { year = year * 10 + Int(digit - UInt8(ascii: "0")) }
            let astronomical = 1 - year
            var digits = Array(String(abs(astronomical)).utf8)
            while digits.count < 4 { digits.insert(UInt8(ascii: "0"), at: 0) }
            if astronomical < 0 { out.appendUnchecked(UInt8(ascii: "-")) }
            for d in digits { out.appendUnchecked(d) }
            out.append(UnsafeRawBufferPointer(rebasing: body[dash..<space]))
        } else {
            out.append(UnsafeRawBufferPointer(rebasing: body[..<space]))
        }
        out.appendUnchecked(UInt8(ascii: "T"))
        out.append(UnsafeRawBufferPointer(rebasing: body[(space + 1)..<(body.count - 3)]))
        out.appendUnchecked(UInt8(ascii: "Z"))
        out.appendUnchecked(UInt8(ascii: "\""))
    }

    @inline(__always)
    static func endsWith(_ text: UnsafeRawBufferPointer, _ a: UInt8, _ b: UInt8, _ c: UInt8) -> Bool {
        let n = text.count
        return n > 3 && text[n - 3] == a && text[n - 2] == b && text[n - 1] == c
    }

    /// Copies a JSON text, dropping white space outside strings. `json` keeps its input text
    /// (with newlines that would break a JSON Lines file); `jsonb` has spaces after `:` and `,`.
    static func appendMinifiedJSON(_ text: UnsafeRawBufferPointer, to out: ByteBuffer) {
        out.reserve(text.count)
        var inString = false
        var i = 0
        let n = text.count
        while i < n {
            let c = text[i]
            i += 1
            if inString {
                out.appendUnchecked(c)
                if c == UInt8(ascii: "\\"), i < n {
                    out.appendUnchecked(text[i])
                    i += 1
                } else if c == UInt8(ascii: "\"") {
                    inString = false
                }
                continue
            }
            switch c {
            case UInt8(ascii: " "), UInt8(ascii: "\t"), UInt8(ascii: "\n"), UInt8(ascii: "\r"):
                continue
            case UInt8(ascii: "\""):
                inString = true
                out.appendUnchecked(c)
            default:
                out.appendUnchecked(c)
            }
        }
    }
}

/// Parses a PostgreSQL array literal (`{1,2,NULL}`, `{{"a b","c\"d"},{e,f}}`, optionally
/// preceded by explicit bounds such as `[0:1]=`) and writes nested JSON arrays.
struct ArrayLiteralParser {
    let text: UnsafeRawBufferPointer
    let delimiter: UInt8
    var position = 0

    init(text: UnsafeRawBufferPointer, delimiter: UInt8) {
        self.text = text
        self.delimiter = delimiter
        if text.first == UInt8(ascii: "["), let equals = text.firstIndex(of: UInt8(ascii: "=")) {
            position = equals + 1
        }
    }

    mutating func encode(element: ElementEncoding, with encoder: ValueEncoder, into out: ByteBuffer) {
        guard position < text.count, text[position] == UInt8(ascii: "{") else {
            JSONString.append(text, to: out)  // not an array literal: keep the text
            return
        }
        encodeLevel(element: element, with: encoder, into: out)
    }

    private mutating func encodeLevel(element: ElementEncoding, with encoder: ValueEncoder, into out: ByteBuffer) {
        position += 1  // {
        out.append(UInt8(ascii: "["))
        var first = true
        while position < text.count {
            let c = text[position]
            if c == UInt8(ascii: "}") {
                position += 1
                break
            }
            if c == delimiter {
                position += 1
                continue
            }
            if !first { out.append(UInt8(ascii: ",")) }
            first = false
            if c == UInt8(ascii: "{") {
                encodeLevel(element: element, with: encoder, into: out)
            } else {
                encodeElement(element: element, with: encoder, into: out)
            }
        }
        out.append(UInt8(ascii: "]"))
    }

    private mutating func encodeElement(element: ElementEncoding, with encoder: ValueEncoder, into out: ByteBuffer) {
        let scratch = encoder.elementScratch
        scratch.removeAll()
        if text[position] == UInt8(ascii: "\"") {
            position += 1
            while position < text.count {
                let c = text[position]
                position += 1
                if c == UInt8(ascii: "\\"), position < text.count {
                    scratch.append(text[position])
                    position += 1
                } else if c == UInt8(ascii: "\"") {
                    break
                } else {
                    scratch.append(c)
                }
            }
        } else {
            while position < text.count {
                let c = text[position]
                if c == delimiter || c == UInt8(ascii: "}") { break }
                scratch.append(c)
                position += 1
            }
            if Self.isNullMarker(scratch.bytes) {
                out.append(ValueEncoder.nullBytes)
                return
            }
        }
        // An element is never itself an array (PostgreSQL arrays nest as dimensions), so the
        // encoder's scratch buffer is not reused underneath this one.
        encoder.encode(scratch.bytes, as: element.columnEncoding, into: out)
    }

    static func isNullMarker(_ bytes: UnsafeRawBufferPointer) -> Bool {
        bytes.count == 4 && String(decoding: bytes, as: UTF8.self).uppercased() == "NULL"
    }
}

/// A constant byte string in memory allocated once, appended without touching an Array.
struct StaticBytes: @unchecked Sendable {
    let bytes: UnsafeRawBufferPointer

    init(_ text: String) {
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: text.utf8.count, alignment: 1)
        buffer.copyBytes(from: text.utf8)
        bytes = UnsafeRawBufferPointer(buffer)
    }
}

extension ByteBuffer {
    @inline(__always)
    func append(_ constant: StaticBytes) { append(constant.bytes) }
}
