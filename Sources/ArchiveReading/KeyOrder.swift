import CanonicalJSON
import Foundation

/// Compares keys as canonical JSON value texts in the order PostgreSQL's `ORDER BY` gives them
/// under pgseal's rules (text in collation C, numbers by value, timestamps by time), so that a
/// diff can merge the archive's rows with the database's.
package struct KeyOrder {
    package let encodings: [ColumnEncoding]

    package init(encodings: [ColumnEncoding]) { self.encodings = encodings }

    /// Compares one key value given as raw bytes; text without escapes and integers are
    /// compared in place, other encodings through the array form.
    package static func compare(_ a: UnsafeRawBufferPointer, _ b: UnsafeRawBufferPointer, as encoding: ColumnEncoding) -> ComparisonResult {
        let quote = UInt8(ascii: "\""), backslash = UInt8(ascii: "\\")
        switch encoding {
        case .text where a.first == quote && b.first == quote && !a.contains(backslash) && !b.contains(backslash):
            let x = UnsafeRawBufferPointer(rebasing: a.dropFirst().dropLast())
            let y = UnsafeRawBufferPointer(rebasing: b.dropFirst().dropLast())
            let common = min(x.count, y.count)
            let order = common == 0 ? 0 : memcmp(x.baseAddress!, y.baseAddress!, common)
            if order != 0 { return order < 0 ? .orderedAscending : .orderedDescending }
            return x.count == y.count ? .orderedSame : (x.count < y.count ? .orderedAscending : .orderedDescending)
        case .integer where a.first != UInt8(ascii: "n") && b.first != UInt8(ascii: "n"):
            let negativeA = a.first == UInt8(ascii: "-"), negativeB = b.first == UInt8(ascii: "-")
            if negativeA != negativeB { return negativeA ? .orderedAscending : .orderedDescending }
            var magnitude: ComparisonResult
            if a.count != b.count {
                magnitude = a.count < b.count ? .orderedAscending : .orderedDescending
            } else {
                let order = memcmp(a.baseAddress!, b.baseAddress!, a.count)
                magnitude = order == 0 ? .orderedSame : (order < 0 ? .orderedAscending : .orderedDescending)
            }
            if negativeA, magnitude != .orderedSame { magnitude = magnitude == .orderedAscending ? .orderedDescending : .orderedAscending }
            return magnitude
        default:
            return compare(Array(a), Array(b), as: encoding)
        }
    }

    /// Compares two keys, each a list of canonical JSON value texts.
    package func compare(_ a: [[UInt8]], _ b: [[UInt8]]) -> ComparisonResult {
        for (index, encoding) in encodings.enumerated() {
            let result = Self.compare(a[index], b[index], as: encoding)
            if result != .orderedSame { return result }
        }
        return .orderedSame
    }

    private static let null = Array("null".utf8)
    private static let infinity = Array("infinity".utf8)
    private static let minusInfinity = Array("-infinity".utf8)

    package static func compare(_ a: [UInt8], _ b: [UInt8], as encoding: ColumnEncoding) -> ComparisonResult {
        if a == b { return .orderedSame }
        // NULLs sort last in ascending order.
        if a == null { return .orderedDescending }
        if b == null { return .orderedAscending }
        switch encoding {
        case .integer:
            return compareIntegers(a, b)
        case .float, .numeric:
            let x = Double(String(decoding: unquoted(a), as: UTF8.self)) ?? .nan
            let y = Double(String(decoding: unquoted(b), as: UTF8.self)) ?? .nan
            if x.isNaN || y.isNaN { return x.isNaN && !y.isNaN ? .orderedDescending : (!x.isNaN ? .orderedAscending : .orderedSame) }
            return x < y ? .orderedAscending : (x > y ? .orderedDescending : compareBytes(a, b))
        case .boolean:
            return a.first == UInt8(ascii: "f") ? .orderedAscending : .orderedDescending
        case .timestamptz:
            return compareTimestamps(unquoted(a), unquoted(b))
        case .text, .json, .array, .jsonText, .arrayText:
            // Without escapes a string's bytes between its quotes are its value: no copy needed.
            if !a.contains(UInt8(ascii: "\\")) && !b.contains(UInt8(ascii: "\\")) {
                return compareBytes(a.dropFirst().dropLast(), b.dropFirst().dropLast())
            }
            return compareBytes(unescaped(a)[...], unescaped(b)[...])
        }
    }

    static func compareBytes(_ a: ArraySlice<UInt8>, _ b: ArraySlice<UInt8>) -> ComparisonResult {
        a.lexicographicallyPrecedes(b) ? .orderedAscending : (a.elementsEqual(b) ? .orderedSame : .orderedDescending)
    }

    static func compareBytes(_ a: [UInt8], _ b: [UInt8]) -> ComparisonResult { compareBytes(a[...], b[...]) }

    /// Decimal integers of any length.
    static func compareIntegers(_ a: [UInt8], _ b: [UInt8]) -> ComparisonResult {
        let negativeA = a.first == UInt8(ascii: "-")
        let negativeB = b.first == UInt8(ascii: "-")
        if negativeA != negativeB { return negativeA ? .orderedAscending : .orderedDescending }
        let magnitude: ComparisonResult = a.count != b.count
            ? (a.count < b.count ? .orderedAscending : .orderedDescending)
            : compareBytes(a, b)
        guard negativeA, magnitude != .orderedSame else { return magnitude }
        return magnitude == .orderedAscending ? .orderedDescending : .orderedAscending
    }

    /// RFC 3339 UTC with an optional fraction: the year by value (it may be negative or longer
    /// than four digits), the rest by bytes without the `Z`, which makes a shorter fraction sort
    /// first as it should; ±infinity at the ends.
    static func compareTimestamps(_ a: [UInt8], _ b: [UInt8]) -> ComparisonResult {
        func rank(_ t: [UInt8]) -> Int { t == minusInfinity ? -1 : (t == infinity ? 1 : 0) }
        let (rankA, rankB) = (rank(a), rank(b))
        if rankA != rankB || rankA != 0 { return rankA < rankB ? .orderedAscending : (rankA > rankB ? .orderedDescending : .orderedSame) }
        func split(_ t: [UInt8]) -> (Int, [UInt8]) {
            let body = t.last == UInt8(ascii: "Z") ? Array(t.dropLast()) : t
            let start = body.first == UInt8(ascii: "-") ? 1 : 0
            let dash = body[start...].firstIndex(of: UInt8(ascii: "-")) ?? body.count
            let year = Int(String(decoding: body[start..<dash], as: UTF8.self)) ?? 0
            return (start == 1 ? -year : year, Array(body[dash...]))
        }
        let (yearA, restA) = split(a)
        let (yearB, restB) = split(b)
        if yearA != yearB { return yearA < yearB ? .orderedAscending : .orderedDescending }
        return compareBytes(restA, restB)
    }

    static func unquoted(_ value: [UInt8]) -> [UInt8] {
        value.first == UInt8(ascii: "\"") && value.count >= 2 ? Array(value.dropFirst().dropLast()) : value
    }

    /// A JSON string's bytes with escapes resolved (other values as they are).
    static func unescaped(_ value: [UInt8]) -> [UInt8] {
        guard value.first == UInt8(ascii: "\""), value.contains(UInt8(ascii: "\\")) else { return unquoted(value) }
        let out = ByteBuffer(capacity: value.count)
        value.withUnsafeBytes { raw in
            var cursor = JSONCursor(bytes: raw)
            try? cursor.string(into: out)
        }
        return out.array
    }
}
