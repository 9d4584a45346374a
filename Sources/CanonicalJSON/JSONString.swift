import Cryptography

/// Minimal RFC 8259 string escaping, byte for byte the rules of docs/FORMAT.md: `"` and `\`
/// escaped, `\b \f \n \r \t` in their short forms, other bytes below 0x20 as `\u00xx` (lowercase
/// hex), everything else — DEL and all of UTF-8 included — as is. PostgreSQL's own JSON output
/// and Python's `json.dumps(ensure_ascii=False)` escape the same way.
package enum JSONString {
    /// For each byte: 0 = copy as is, otherwise the byte that follows the backslash,
    /// or `u` for the six-byte form.
    @usableFromInline
    static let escapeTable: [UInt8] = {
        var table = [UInt8](repeating: 0, count: 256)
        for c in 0..<0x20 { table[c] = UInt8(ascii: "u") }
        table[0x08] = UInt8(ascii: "b")
        table[0x0c] = UInt8(ascii: "f")
        table[0x0a] = UInt8(ascii: "n")
        table[0x0d] = UInt8(ascii: "r")
        table[0x09] = UInt8(ascii: "t")
        table[Int(UInt8(ascii: "\""))] = UInt8(ascii: "\"")
        table[Int(UInt8(ascii: "\\"))] = UInt8(ascii: "\\")
        return table
    }()

    /// Appends `bytes` as a quoted JSON string.
    package static func append(_ bytes: UnsafeRawBufferPointer, to out: ByteBuffer) {
        // Worst case every byte becomes six.
        out.reserve(bytes.count * 6 + 2)
        out.appendUnchecked(UInt8(ascii: "\""))
        appendEscaped(bytes, to: out)
        out.appendUnchecked(UInt8(ascii: "\""))
    }

    /// Appends the escaped body of a string; the caller reserved `bytes.count * 6` bytes.
    @inline(__always)
    static func appendEscaped(_ bytes: UnsafeRawBufferPointer, to out: ByteBuffer) {
        guard let source = bytes.baseAddress?.assumingMemoryBound(to: UInt8.self) else { return }
        let n = bytes.count
        escapeTable.withUnsafeBufferPointer { table in
            var runStart = 0
            var i = 0
            while i < n {
                let escape = table[Int(source[i])]
                if escape != 0 {
                    if i > runStart {
                        (out.base + out.count).update(from: source + runStart, count: i - runStart)
                        out.count &+= i - runStart
                    }
                    out.appendUnchecked(UInt8(ascii: "\\"))
                    out.appendUnchecked(escape)
                    if escape == UInt8(ascii: "u") {
                        let c = source[i]
                        out.appendUnchecked(UInt8(ascii: "0"))
                        out.appendUnchecked(UInt8(ascii: "0"))
                        out.appendUnchecked(HexDigits.alphabet[Int(c >> 4)])
                        out.appendUnchecked(HexDigits.alphabet[Int(c & 0x0f)])
                    }
                    runStart = i + 1
                }
                i += 1
            }
            if n > runStart {
                (out.base + out.count).update(from: source + runStart, count: n - runStart)
                out.count &+= n - runStart
            }
        }
    }

    package static func append(_ string: String, to out: ByteBuffer) {
        var string = string
        string.withUTF8 { append(UnsafeRawBufferPointer($0), to: out) }
    }

    /// The quoted, escaped form of `string`, for metadata (manifest, reports).
    package static func quoted(_ string: String) -> String {
        let out = ByteBuffer(capacity: string.utf8.count + 16)
        append(string, to: out)
        return String(decoding: out.bytes, as: UTF8.self)
    }
}

