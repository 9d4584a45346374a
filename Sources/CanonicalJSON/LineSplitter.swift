import Foundation

/// Cuts a stream of blocks into lines (without their newline), holding only a partial line
/// between blocks; for reading chunks of JSON Lines.
public final class LineSplitter {
    private let partial = ByteBuffer(capacity: 64 * 1024)

    public init() {}

    /// Calls `body` with each complete line in `block`.
    public func feed(_ block: UnsafeRawBufferPointer, _ body: (UnsafeRawBufferPointer) throws -> Void) rethrows {
        guard let base = block.baseAddress else { return }
        var start = 0
        while start < block.count {
            guard let found = memchr(base + start, 0x0A, block.count - start) else {
                partial.append(UnsafeRawBufferPointer(rebasing: block[start...]))
                return
            }
            let newline = UnsafeRawPointer(found) - base
            if partial.count > 0 {
                partial.append(UnsafeRawBufferPointer(rebasing: block[start..<newline]))
                try body(partial.bytes)
                partial.removeAll()
            } else {
                try body(UnsafeRawBufferPointer(rebasing: block[start..<newline]))
            }
            start = newline + 1
        }
    }

    /// True when the stream ended in the middle of a line; clears it for the next stream.
    public func endHasPartialLine() -> Bool {
        defer { partial.removeAll() }
        return partial.count > 0
    }
}
