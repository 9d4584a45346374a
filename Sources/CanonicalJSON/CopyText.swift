import Cryptography

/// PostgreSQL's COPY text format, as a server writes it: columns split by a tab, `\N` for NULL,
/// backslash escapes for the rest (`\b \f \n \r \t \v \\`, `\ooo` octal, `\xhh` hex, and a
/// backslash before any other byte standing for that byte).
package enum CopyText {
    package static let tab = UInt8(ascii: "\t")
    package static let backslash = UInt8(ascii: "\\")

    /// True for the NULL marker `\N`.
    @inline(__always)
    package static func isNull(_ field: UnsafeRawBufferPointer) -> Bool {
        field.count == 2 && field[0] == backslash && field[1] == UInt8(ascii: "N")
    }

    /// Appends the field with its escapes resolved.
    package static func unescape(_ field: UnsafeRawBufferPointer, into out: ByteBuffer) {
        out.reserve(field.count)
        let n = field.count
        var i = 0
        while i < n {
            let c = field[i]
            i += 1
            guard c == backslash, i < n else {
                out.appendUnchecked(c)
                continue
            }
            let e = field[i]
            i += 1
            switch e {
            case UInt8(ascii: "b"): out.appendUnchecked(0x08)
            case UInt8(ascii: "f"): out.appendUnchecked(0x0c)
            case UInt8(ascii: "n"): out.appendUnchecked(0x0a)
            case UInt8(ascii: "r"): out.appendUnchecked(0x0d)
            case UInt8(ascii: "t"): out.appendUnchecked(0x09)
            case UInt8(ascii: "v"): out.appendUnchecked(0x0b)
            case UInt8(ascii: "0")...UInt8(ascii: "7"):
                var value = Int(e - UInt8(ascii: "0"))
                var digits = 1
                while digits < 3, i < n, (UInt8(ascii: "0")...UInt8(ascii: "7")).contains(field[i]) {
                    value = value * 8 + Int(field[i] - UInt8(ascii: "0"))
                    i += 1
                    digits += 1
                }
                out.appendUnchecked(UInt8(truncatingIfNeeded: value))
            case UInt8(ascii: "x") where i < n && HexDigits.value(field[i]) != nil:
                var value = Int(HexDigits.value(field[i])!)
                i += 1
                if i < n, let low = HexDigits.value(field[i]) {
                    value = value * 16 + Int(low)
                    i += 1
                }
                out.appendUnchecked(UInt8(truncatingIfNeeded: value))
            default: out.appendUnchecked(e)
            }
        }
    }

    /// Appends the COPY text form of `value` (the inverse of `unescape`), as restore writes it.
    package static func escape(_ value: UnsafeRawBufferPointer, into out: ByteBuffer) {
        out.reserve(value.count * 2)
        for c in value {
            switch c {
            case backslash: out.appendUnchecked(backslash); out.appendUnchecked(backslash)
            case 0x08: out.appendUnchecked(backslash); out.appendUnchecked(UInt8(ascii: "b"))
            case 0x0c: out.appendUnchecked(backslash); out.appendUnchecked(UInt8(ascii: "f"))
            case 0x0a: out.appendUnchecked(backslash); out.appendUnchecked(UInt8(ascii: "n"))
            case 0x0d: out.appendUnchecked(backslash); out.appendUnchecked(UInt8(ascii: "r"))
            case 0x09: out.appendUnchecked(backslash); out.appendUnchecked(UInt8(ascii: "t"))
            case 0x0b: out.appendUnchecked(backslash); out.appendUnchecked(UInt8(ascii: "v"))
            default: out.appendUnchecked(c)
            }
        }
    }
}

