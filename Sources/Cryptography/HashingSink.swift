import ByteStreams

/// Forwards bytes while hashing and counting them: the object's SHA-256 and size as stored,
/// computed on the way out so the object is never read back.
package final class HashingSink: ByteSink {
    private let next: ByteSink
    private let hasher = SHA256Hasher()
    package private(set) var count: Int64 = 0
    package private(set) var digest: Digest?

    package init(_ next: ByteSink) { self.next = next }

    package func write(_ bytes: UnsafeRawBufferPointer) throws {
        hasher.update(bytes)
        count += Int64(bytes.count)
        try next.write(bytes)
    }

    package func close() throws {
        digest = hasher.finalize()
        try next.close()
    }
}

/// Hashes and counts what is read through it: the object's SHA-256 while it is being
/// decrypted and unpacked, in the same single pass.
package final class HashingSource: ByteSource {
    private let source: ByteSource
    private let hasher = SHA256Hasher()
    package private(set) var count: Int64 = 0

    package init(_ source: ByteSource) { self.source = source }

    package func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        let n = try source.read(into: buffer)
        hasher.update(UnsafeRawBufferPointer(rebasing: buffer[0..<n]))
        count += Int64(n)
        return n
    }

    /// Reads what is left, then returns the digest of everything read.
    package func finish() throws -> Digest {
        try forEachBlock(size: 256 * 1024) { _ in }
        return hasher.finalize()
    }
}
