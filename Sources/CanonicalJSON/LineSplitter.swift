import ByteStreams
import Foundation

/// Splits a byte stream into `\n`-terminated lines, lending each to a closure without copying
/// unless a line spans two blocks. A line longer than `maxLineBytes` is an error, not a buffer
/// that grows with its input.
package final class LineSplitter {
    private let partial = ByteBuffer(capacity: 64 * 1024)
    package let maxLineBytes: Int

    /// A line longer than the limit: `line` is its number in the current stream (1-based).
    package struct LineTooLong: Error, CustomStringConvertible, IntegrityViolation {
        package var isIntegrityFailure: Bool { true }
        package let line: Int
        package let limit: Int
        package init(line: Int, limit: Int) {
            self.line = line
            self.limit = limit
        }

        package var description: String { "line \(line) is longer than \(limit) bytes, the longest row pgseal reads (--max-row-bytes)" }
    }

    /// Lines completed in the current stream.
    package private(set) var lineCount = 0

    package init(maxLineBytes: Int = RowLimit.defaultBytes) { self.maxLineBytes = maxLineBytes }

    /// Calls `body` with each complete line in `block`.
    package func feed(_ block: UnsafeRawBufferPointer, _ body: (UnsafeRawBufferPointer) throws -> Void) throws {
        guard let base = block.baseAddress else { return }
        var start = 0
        while start < block.count {
            guard let found = memchr(base + start, 0x0A, block.count - start) else {
                try hold(UnsafeRawBufferPointer(rebasing: block[start...]))
                return
            }
            let newline = UnsafeRawPointer(found) - base
            lineCount += 1
            if partial.count > 0 {
                try hold(UnsafeRawBufferPointer(rebasing: block[start..<newline]))
                try body(partial.bytes)
                partial.removeAll()
            } else {
                guard newline - start <= maxLineBytes else { throw LineTooLong(line: lineCount, limit: maxLineBytes) }
                try body(UnsafeRawBufferPointer(rebasing: block[start..<newline]))
            }
            start = newline + 1
        }
    }

    private func hold(_ piece: UnsafeRawBufferPointer) throws {
        guard partial.count + piece.count <= maxLineBytes else { throw LineTooLong(line: lineCount + 1, limit: maxLineBytes) }
        partial.append(piece)
    }

    /// What every reader says of a chunk that ends in the middle of a line.
    package static let cutLastLine = "the last line has no newline: the chunk was cut"

    /// True when the stream ended in the middle of a line; clears it for the next stream.
    package func endHasPartialLine() -> Bool {
        defer {
            partial.removeAll()
            lineCount = 0
        }
        return partial.count > 0
    }
}

/// The longest row (canonical JSON line) that readers accept by default and exports write.
package enum RowLimit {
    package static let defaultBytes = 64 << 20
}
