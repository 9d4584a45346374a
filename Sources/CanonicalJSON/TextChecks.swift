/// Checks of the texts a canonical row may hold, written for hostile input: no arithmetic that
/// can overflow, no index past the end, no allocation that grows with the input.
enum UTF8Check {
    /// The offset of the first byte that breaks UTF-8 (overlong forms, surrogates and values past
    /// U+10FFFF included), or nil.
    static func firstInvalidByte(_ bytes: UnsafeRawBufferPointer) -> Int? {
        var i = 0
        let n = bytes.count
        while i < n {
            // Eight ASCII bytes at a time: most rows are ASCII almost throughout.
            if i + 8 <= n, bytes.loadUnaligned(fromByteOffset: i, as: UInt64.self) & 0x8080_8080_8080_8080 == 0 {
                i += 8
                continue
            }
            let b0 = bytes[i]
            if b0 < 0x80 { i += 1; continue }
            let length: Int
            var low: UInt8 = 0x80, high: UInt8 = 0xBF
            switch b0 {
            case 0xC2...0xDF: length = 2
            case 0xE0: length = 3; low = 0xA0
            case 0xE1...0xEC, 0xEE...0xEF: length = 3
            case 0xED: length = 3; high = 0x9F
            case 0xF0: length = 4; low = 0x90
            case 0xF1...0xF3: length = 4
            case 0xF4: length = 4; high = 0x8F
            default: return i
            }
            guard n - i >= length else { return i }
            let b1 = bytes[i + 1]
            guard b1 >= low, b1 <= high else { return i }
            for k in 2..<length where bytes[i + k] & 0xC0 != 0x80 { return i }
            i += length
        }
        return nil
    }
}

enum NumberText {
    static func isDigit(_ c: UInt8) -> Bool { c >= 0x30 && c <= 0x39 }

    /// `-?[0-9]+`, no leading zero but for 0 itself.
    static func isInteger(_ text: UnsafeRawBufferPointer) -> Bool {
        var i = 0
        if i < text.count, text[i] == UInt8(ascii: "-") { i += 1 }
        guard i < text.count else { return false }
        if text[i] == UInt8(ascii: "0") { return i + 1 == text.count }
        while i < text.count { guard isDigit(text[i]) else { return false }; i += 1 }
        return true
    }

    /// A JSON number (RFC 8259 grammar).
    static func isJSONNumber(_ text: UnsafeRawBufferPointer) -> Bool {
        var i = 0
        let n = text.count
        if i < n, text[i] == UInt8(ascii: "-") { i += 1 }
        guard i < n, isDigit(text[i]) else { return false }
        if text[i] == UInt8(ascii: "0") { i += 1 } else { while i < n, isDigit(text[i]) { i += 1 } }
        if i < n, text[i] == UInt8(ascii: ".") {
            i += 1
            let start = i
            while i < n, isDigit(text[i]) { i += 1 }
            guard i > start else { return false }
        }
        if i < n, text[i] == UInt8(ascii: "e") || text[i] == UInt8(ascii: "E") {
            i += 1
            if i < n, text[i] == UInt8(ascii: "+") || text[i] == UInt8(ascii: "-") { i += 1 }
            let start = i
            while i < n, isDigit(text[i]) { i += 1 }
            guard i > start else { return false }
        }
        return i == n
    }

    static func isSpecialFloat(_ text: UnsafeRawBufferPointer) -> Bool {
        text.elementsEqual("NaN".utf8) || text.elementsEqual("Infinity".utf8) || text.elementsEqual("-Infinity".utf8)
    }

    /// PostgreSQL's numeric output: `-?digits(.digits)?`, `NaN`, `Infinity`, `-Infinity`.
    static func isNumeric(_ text: UnsafeRawBufferPointer) -> Bool {
        if isSpecialFloat(text) { return true }
        var i = 0
        let n = text.count
        if i < n, text[i] == UInt8(ascii: "-") { i += 1 }
        let start = i
        while i < n, isDigit(text[i]) { i += 1 }
        // PostgreSQL prints no leading zero but the one before the point (`0.5`, never `00.5`).
        guard i > start, text[start] != UInt8(ascii: "0") || i == start + 1 else { return false }
        if i < n, text[i] == UInt8(ascii: ".") {
            i += 1
            let fraction = i
            while i < n, isDigit(text[i]) { i += 1 }
            guard i > fraction else { return false }
        }
        return i == n
    }

    /// The start of a value for a message, escaped and short.
    static func preview(_ text: UnsafeRawBufferPointer) -> String {
        String(decoding: text.prefix(40), as: UTF8.self).debugDescription
    }
}

/// `[-]YYYY[Y…]-MM-DDTHH:MM:SS[.ffffff]Z`, as the exporter writes a timestamptz.
struct TimestampText {
    /// 1 BC is 0, 44 BC is -43.
    let astronomicalYear: Int
    let date: Range<Int>
    /// `-MM-DD` after the year.
    let monthDay: Range<Int>
    let time: Range<Int>

    init?(_ text: UnsafeRawBufferPointer) {
        let n = text.count
        guard n >= 20, text[n - 1] == UInt8(ascii: "Z") else { return nil }
        var i = 0
        let negative = text[0] == UInt8(ascii: "-")
        if negative { i = 1 }
        let yearStart = i
        var year = 0
        while i < n, NumberText.isDigit(text[i]) {
            guard i - yearStart < 7 else { return nil }  // PostgreSQL's years end at 294276
            year = year * 10 + Int(text[i] - 0x30)
            i += 1
        }
        guard i - yearStart >= 4 else { return nil }
        // The exporter writes at least four digits and no more than the year needs, and year
        // zero (1 BC) without a sign: `-02019` and `-0000` are not its text of any time.
        guard i - yearStart == 4 || text[yearStart] != UInt8(ascii: "0"), !(negative && year == 0) else { return nil }
        let yearEnd = i
        // -MM-DDTHH:MM:SS
        let pattern: [UInt8?] = [0x2D, nil, nil, 0x2D, nil, nil, 0x54, nil, nil, 0x3A, nil, nil, 0x3A, nil, nil]
        guard n - i >= pattern.count + 1 else { return nil }
        for (k, expected) in pattern.enumerated() {
            let c = text[i + k]
            if let expected { guard c == expected else { return nil } } else { guard NumberText.isDigit(c) else { return nil } }
        }
        let timeStart = i + 7
        // Fields in their ranges: month, day, hour, minute, second.
        func field(_ offset: Int) -> Int { Int(text[i + offset] - 0x30) * 10 + Int(text[i + offset + 1] - 0x30) }
        guard (1...12).contains(field(1)), (1...31).contains(field(4)), field(7) <= 23, field(10) <= 59, field(13) <= 59 else { return nil }
        i += pattern.count
        if text[i] == UInt8(ascii: ".") {
            i += 1
            let fraction = i
            while i < n - 1, NumberText.isDigit(text[i]) { i += 1 }
            // PostgreSQL prints fractional seconds without trailing zeros.
            guard i > fraction, i - fraction <= 6, text[i - 1] != UInt8(ascii: "0") else { return nil }
        }
        guard i == n - 1 else { return nil }
        astronomicalYear = negative ? -year : year
        date = 0..<(yearEnd + 6)
        monthDay = yearEnd..<(yearEnd + 6)
        time = timeStart..<(n - 1)
    }
}
