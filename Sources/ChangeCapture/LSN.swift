/// A position in PostgreSQL's write-ahead log, as the server writes it: `16/B374D848`, two
/// hexadecimal halves of a 64-bit number.
package struct LSN: Comparable, Hashable, Sendable, CustomStringConvertible {
    package let value: UInt64

    package init(_ value: UInt64) { self.value = value }

    /// Parses `X/Y` (each half at most 8 hexadecimal digits); nil for anything else.
    package init?(_ text: String) {
        let halves = text.split(separator: "/", omittingEmptySubsequences: false)
        guard halves.count == 2, let high = Self.half(halves[0]), let low = Self.half(halves[1]) else { return nil }
        value = UInt64(high) << 32 | UInt64(low)
    }

    private static func half(_ text: Substring) -> UInt32? {
        guard (1...8).contains(text.utf8.count), text.utf8.allSatisfy({ ($0 >= 0x30 && $0 <= 0x39) || ($0 | 0x20 >= 0x61 && $0 | 0x20 <= 0x66) }) else { return nil }
        return UInt32(text, radix: 16)
    }

    package var description: String {
        String(value >> 32, radix: 16, uppercase: true) + "/" + String(value & 0xFFFF_FFFF, radix: 16, uppercase: true)
    }

    package static func < (a: LSN, b: LSN) -> Bool { a.value < b.value }

    package static let zero = LSN(0)
}
