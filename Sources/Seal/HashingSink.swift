import ByteStreams

/// Forwards bytes while hashing and counting them: the object's SHA-256 and size as stored,
/// computed on the way out so the object is never read back.
public final class HashingSink: ByteSink {
    private let next: ByteSink
    private let hasher = SHA256Hasher()
    public private(set) var count: Int64 = 0
    public private(set) var digest: Digest?

    public init(_ next: ByteSink) { self.next = next }

    public func write(_ bytes: UnsafeRawBufferPointer) throws {
        hasher.update(bytes)
        count += Int64(bytes.count)
        try next.write(bytes)
    }

    public func close() throws {
        digest = hasher.finalize()
        try next.close()
    }
}
