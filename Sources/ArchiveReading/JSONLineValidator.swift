/// A strict RFC 8259 syntax check of one line, without building values: the deep verification
/// runs it on every row, so it must cost about as much as reading the bytes.
package enum JSONLineValidator {
    package static func isValid(_ bytes: UnsafeRawBufferPointer) -> Bool {
        var parser = Parser(bytes: bytes)
        guard parser.value(depth: 0) else { return false }
        parser.skipWhitespace()
        return parser.position == bytes.count
    }

    private struct Parser {
        let bytes: UnsafeRawBufferPointer
        var position = 0
        static let maxDepth = 512

        init(bytes: UnsafeRawBufferPointer) { self.bytes = bytes }

        var current: UInt8? { position < bytes.count ? bytes[position] : nil }

        mutating func skipWhitespace() {
            while let c = current, c == 0x20 || c == 0x09 || c == 0x0A || c == 0x0D { position += 1 }
        }

        mutating func literal(_ text: StaticString) -> Bool {
            let count = text.utf8CodeUnitCount
            guard position + count <= bytes.count else { return false }
            for i in 0..<count where bytes[position + i] != text.utf8Start[i] { return false }
            position += count
            return true
        }

        package mutating func value(depth: Int) -> Bool {
            guard depth < Self.maxDepth else { return false }
            skipWhitespace()
            guard let c = current else { return false }
            switch c {
            case UInt8(ascii: "{"): return object(depth: depth)
            case UInt8(ascii: "["): return array(depth: depth)
            case UInt8(ascii: "\""): return string()
            case UInt8(ascii: "t"): return literal("true")
            case UInt8(ascii: "f"): return literal("false")
            case UInt8(ascii: "n"): return literal("null")
            default: return number()
            }
        }

        mutating func object(depth: Int) -> Bool {
            position += 1
            skipWhitespace()
            if current == UInt8(ascii: "}") { position += 1; return true }
            while true {
                skipWhitespace()
                guard current == UInt8(ascii: "\""), string() else { return false }
                skipWhitespace()
                guard current == UInt8(ascii: ":") else { return false }
                position += 1
                guard value(depth: depth + 1) else { return false }
                skipWhitespace()
                if current == UInt8(ascii: ",") { position += 1; continue }
                if current == UInt8(ascii: "}") { position += 1; return true }
                return false
            }
        }

        mutating func array(depth: Int) -> Bool {
            position += 1
            skipWhitespace()
            if current == UInt8(ascii: "]") { position += 1; return true }
            while true {
                guard value(depth: depth + 1) else { return false }
                skipWhitespace()
                if current == UInt8(ascii: ",") { position += 1; continue }
                if current == UInt8(ascii: "]") { position += 1; return true }
                return false
            }
        }

        mutating func string() -> Bool {
            position += 1
            while let c = current {
                position += 1
                if c == UInt8(ascii: "\"") { return true }
                if c < 0x20 { return false }
                if c == UInt8(ascii: "\\") {
                    guard let e = current else { return false }
                    position += 1
                    switch e {
                    case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"), UInt8(ascii: "b"), UInt8(ascii: "f"),
                         UInt8(ascii: "n"), UInt8(ascii: "r"), UInt8(ascii: "t"):
                        continue
                    case UInt8(ascii: "u"):
                        for _ in 0..<4 {
                            guard let h = current, isHex(h) else { return false }
                            position += 1
                        }
                    default:
                        return false
                    }
                }
            }
            return false
        }

        func isHex(_ c: UInt8) -> Bool {
            (0x30...0x39).contains(c) || (0x61...0x66).contains(c) || (0x41...0x46).contains(c)
        }

        mutating func digits() -> Int {
            let start = position
            while let c = current, (0x30...0x39).contains(c) { position += 1 }
            return position - start
        }

        mutating func number() -> Bool {
            if current == UInt8(ascii: "-") { position += 1 }
            guard let first = current, (0x30...0x39).contains(first) else { return false }
            if first == UInt8(ascii: "0") { position += 1 } else { _ = digits() }
            if current == UInt8(ascii: ".") {
                position += 1
                guard digits() > 0 else { return false }
            }
            if current == UInt8(ascii: "e") || current == UInt8(ascii: "E") {
                position += 1
                if current == UInt8(ascii: "+") || current == UInt8(ascii: "-") { position += 1 }
                guard digits() > 0 else { return false }
            }
            return true
        }
    }
}
