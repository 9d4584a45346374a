/// pgseal/1's `json` encoding (FORMAT.md §3.4): a json or jsonb value embedded in the row as
/// JSON text without white space. Its strings keep the escapes the value was stored with (a
/// `json` value's own), so they are held to RFC 8259's grammar, not to the minimal escaping of
/// the row's own strings; anything else — white space, a bare word, a trailing comma — is not
/// what the exporter wrote. Iterative, so that nesting costs a byte per level, not a stack frame.
extension JSONCursor {
    /// Moves past one compact JSON value and returns its text.
    mutating func compactJSONValue() throws(RowDecoder.DecodingError) -> UnsafeRawBufferPointer {
        let start = position
        // The containers open at the cursor: `{` or `[`.
        var open: [UInt8] = []
        while true {
            // A value.
            switch peek {
            case UInt8(ascii: "{"):
                position += 1
                open.append(UInt8(ascii: "{"))
                if peek == UInt8(ascii: "}") { position += 1; open.removeLast() } else {
                    try jsonString()
                    try expect(UInt8(ascii: ":"))
                    continue
                }
            case UInt8(ascii: "["):
                position += 1
                open.append(UInt8(ascii: "["))
                if peek == UInt8(ascii: "]") { position += 1; open.removeLast() } else { continue }
            case UInt8(ascii: "\""): try jsonString()
            case UInt8(ascii: "t"): try literal("true")
            case UInt8(ascii: "f"): try literal("false")
            case UInt8(ascii: "n"): try literal("null")
            default:
                let number = position
                while let c = peek, NumberText.isDigit(c) || c == UInt8(ascii: "-") || c == UInt8(ascii: "+")
                    || c == UInt8(ascii: ".") || c == UInt8(ascii: "e") || c == UInt8(ascii: "E") { position += 1 }
                guard NumberText.isJSONNumber(UnsafeRawBufferPointer(rebasing: bytes[number..<position])) else {
                    throw .notCanonical("a json value holds something that is not JSON at byte \(number)")
                }
            }
            // After a value: close what ends here, then a comma leads to the next value.
            while let container = open.last {
                if peek == UInt8(ascii: ",") {
                    position += 1
                    if container == UInt8(ascii: "{") {
                        try jsonString()
                        try expect(UInt8(ascii: ":"))
                    }
                    break
                }
                try expect(container == UInt8(ascii: "{") ? UInt8(ascii: "}") : UInt8(ascii: "]"))
                open.removeLast()
            }
            if open.isEmpty { return UnsafeRawBufferPointer(rebasing: bytes[start..<position]) }
        }
    }

    /// A string by RFC 8259: no control characters, escapes of `"\/bfnrt` or four hex digits.
    private mutating func jsonString() throws(RowDecoder.DecodingError) {
        try expect(UInt8(ascii: "\""))
        while let c = peek {
            position += 1
            switch c {
            case UInt8(ascii: "\""): return
            case 0..<0x20: throw .notCanonical("a control character in a json string at byte \(position - 1)")
            case UInt8(ascii: "\\"):
                guard let escaped = peek else { break }
                position += 1
                if escaped == UInt8(ascii: "u") {
                    for _ in 0..<4 {
                        guard let hex = peek, NumberText.isDigit(hex) || (0x61...0x66).contains(hex | 0x20) else {
                            throw .notCanonical("a \\u escape without four hex digits in a json string at byte \(position)")
                        }
                        position += 1
                    }
                } else if !Array(#""\/bfnrt"#.utf8).contains(escaped) {
                    throw .notCanonical("an escape the JSON grammar does not have in a json string at byte \(position - 1)")
                }
            default: continue
            }
        }
        throw .notCanonical("a json string is not terminated")
    }
}
