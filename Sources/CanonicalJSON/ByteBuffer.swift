/// A growable byte buffer with unchecked appends for the row-encoding hot path.
///
/// It is reused: a chunk buffer is filled, handed to the archive writer, cleared and filled
/// again, so the only allocations are the few times it grows to the largest chunk seen.
package final class ByteBuffer: @unchecked Sendable {
    package private(set) var base: UnsafeMutablePointer<UInt8>
    package var count: Int = 0
    package private(set) var capacity: Int

    package init(capacity: Int = 4096) {
        self.capacity = max(capacity, 64)
        self.base = .allocate(capacity: self.capacity)
    }

    deinit { base.deallocate() }

    @inline(__always)
    package func reserve(_ additional: Int) {
        if count &+ additional > capacity { grow(to: count + additional) }
    }

    private func grow(to needed: Int) {
        var newCapacity = capacity * 2
        while newCapacity < needed { newCapacity *= 2 }
        let newBase = UnsafeMutablePointer<UInt8>.allocate(capacity: newCapacity)
        newBase.update(from: base, count: count)
        base.deallocate()
        base = newBase
        capacity = newCapacity
    }

    @inline(__always)
    package func append(_ byte: UInt8) {
        reserve(1)
        base[count] = byte
        count &+= 1
    }

    /// Appends without a capacity check; the caller reserved room first.
    @inline(__always)
    package func appendUnchecked(_ byte: UInt8) {
        base[count] = byte
        count &+= 1
    }

    @inline(__always)
    package func append(_ bytes: UnsafeRawBufferPointer) {
        guard let source = bytes.baseAddress, !bytes.isEmpty else { return }
        reserve(bytes.count)
        (base + count).update(from: source.assumingMemoryBound(to: UInt8.self), count: bytes.count)
        count &+= bytes.count
    }

    package func append(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { append($0) }
    }

    package func append(_ string: String) {
        var string = string
        string.withUTF8 { append(UnsafeRawBufferPointer($0)) }
    }

    package func removeAll() { count = 0 }

    /// Drops the first `n` bytes, moving the rest to the front.
    package func removeFirst(_ n: Int) {
        precondition(n <= count)
        let remaining = count - n
        if remaining > 0 { base.update(from: base + n, count: remaining) }
        count = remaining
    }

    package var bytes: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: base, count: count) }

    package func bytes(_ range: Range<Int>) -> UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(start: base + range.lowerBound, count: range.count)
    }

    package var array: [UInt8] { Array(bytes) }
}
