/// Reads PostgreSQL's wire encodings (big-endian integers, NUL-terminated strings, counted
/// bytes) from bytes that came from outside: every read is checked against what remains, every
/// failure names the field. Nothing traps.
package struct WireReader {
    private let bytes: UnsafeRawBufferPointer
    private(set) package var offset = 0

    package init(_ bytes: UnsafeRawBufferPointer) { self.bytes = bytes }

    package var remaining: Int { bytes.count - offset }
    package var isAtEnd: Bool { offset == bytes.count }

    package mutating func byte(_ field: String) throws(WireError) -> UInt8 {
        guard remaining >= 1 else { throw .truncated(field: field, at: offset) }
        defer { offset += 1 }
        return bytes[offset]
    }

    package mutating func uint16(_ field: String) throws(WireError) -> UInt16 {
        UInt16(truncatingIfNeeded: try unsigned(2, field))
    }

    package mutating func uint32(_ field: String) throws(WireError) -> UInt32 {
        UInt32(truncatingIfNeeded: try unsigned(4, field))
    }

    package mutating func int32(_ field: String) throws(WireError) -> Int32 {
        Int32(bitPattern: try uint32(field))
    }

    package mutating func uint64(_ field: String) throws(WireError) -> UInt64 {
        try unsigned(8, field)
    }

    package mutating func int64(_ field: String) throws(WireError) -> Int64 {
        Int64(bitPattern: try uint64(field))
    }

    private mutating func unsigned(_ width: Int, _ field: String) throws(WireError) -> UInt64 {
        guard remaining >= width else { throw .truncated(field: field, at: offset) }
        var value: UInt64 = 0
        for index in offset..<(offset + width) { value = value << 8 | UInt64(bytes[index]) }
        offset += width
        return value
    }

    /// A NUL-terminated string of at most `limit` bytes, which must be UTF-8.
    package mutating func string(_ field: String, limit: Int = 1024) throws(WireError) -> String {
        let start = offset
        var end = start
        while end < bytes.count, bytes[end] != 0 {
            end += 1
            guard end - start <= limit else { throw .tooLong(field: field, limit: limit) }
        }
        guard end < bytes.count else { throw .truncated(field: field, at: start) }
        offset = end + 1
        guard let text = String(validating: UnsafeRawBufferPointer(rebasing: bytes[start..<end]), as: UTF8.self) else {
            throw .notUTF8(field: field)
        }
        return text
    }

    /// `count` bytes, copied.
    package mutating func bytes(_ count: Int, _ field: String) throws(WireError) -> [UInt8] {
        guard count >= 0, remaining >= count else { throw .truncated(field: field, at: offset) }
        defer { offset += count }
        return Array(UnsafeRawBufferPointer(rebasing: bytes[offset..<(offset + count)]))
    }

    /// The rest, copied.
    package mutating func rest() -> [UInt8] {
        defer { offset = bytes.count }
        return Array(UnsafeRawBufferPointer(rebasing: bytes[offset...]))
    }
}

/// A message from the server that does not parse: which field, and why.
package enum WireError: Error, Equatable, CustomStringConvertible {
    case truncated(field: String, at: Int)
    case tooLong(field: String, limit: Int)
    case notUTF8(field: String)
    case invalid(field: String, reason: String)

    package var description: String {
        switch self {
        case .truncated(let field, let offset): "the message ends before its \(field) (byte \(offset))"
        case .tooLong(let field, let limit): "its \(field) is longer than \(limit) bytes"
        case .notUTF8(let field): "its \(field) is not UTF-8"
        case .invalid(let field, let reason): "its \(field) \(reason)"
        }
    }
}
