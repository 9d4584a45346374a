import ByteStreams

/// The age payload's STREAM construction: 64 KiB chunks, each sealed with ChaCha20-Poly1305
/// under a nonce of an 11-byte big-endian counter and a final-chunk flag byte.
enum AgePayload {
    static let chunkSize = 64 * 1024
    static let sealedChunkSize = chunkSize + ChaChaPoly.tagLength
    static let nonceLength = 16

    static func key(fileKey: [UInt8], nonce: [UInt8]) throws -> [UInt8] {
        try Crypto.hkdfSHA256(ikm: fileKey, salt: nonce, info: "payload")
    }

    static func chunkNonce(_ counter: UInt64, last: Bool) -> [UInt8] {
        var nonce = [UInt8](repeating: 0, count: 12)
        for i in 0..<8 { nonce[10 - i] = UInt8(truncatingIfNeeded: counter >> (8 * UInt64(i))) }
        nonce[11] = last ? 1 : 0
        return nonce
    }
}

/// Encrypts everything written to it as one age file into `next`. A full chunk is held back
/// until more data arrives, because only `close` knows which chunk is the final one.
package final class AgeEncryptingSink: ByteSink {
    private let next: ByteSink
    private let cipher: ChaChaPoly
    private let plaintext = UnsafeMutableRawBufferPointer.allocate(byteCount: AgePayload.chunkSize, alignment: 16)
    private let sealed = UnsafeMutableRawBufferPointer.allocate(byteCount: AgePayload.sealedChunkSize, alignment: 16)
    private var filled = 0
    private var counter: UInt64 = 0
    private var closed = false

    /// Encrypts to X25519 recipients.
    package convenience init(_ next: ByteSink, recipients: [AgeRecipient]) throws {
        precondition(!recipients.isEmpty)
        let fileKey = Crypto.randomBytes(16)
        try self.init(next, fileKey: fileKey, stanzas: try recipients.map { try AgeStanzas.x25519(fileKey: fileKey, to: $0) })
    }

    /// Encrypts with a passphrase (scrypt); such a file has no other recipient.
    package convenience init(_ next: ByteSink, passphrase: [UInt8], logN: Int = 18) throws {
        let fileKey = Crypto.randomBytes(16)
        try self.init(next, fileKey: fileKey, stanzas: [try AgeStanzas.scrypt(fileKey: fileKey, passphrase: passphrase, logN: logN)])
    }

    private init(_ next: ByteSink, fileKey: [UInt8], stanzas: [AgeStanza]) throws {
        self.next = next
        let nonce = Crypto.randomBytes(AgePayload.nonceLength)
        cipher = try ChaChaPoly(key: try AgePayload.key(fileKey: fileKey, nonce: nonce))
        try next.write(try AgeHeader(stanzas: stanzas).encoded(fileKey: fileKey))
        try next.write(nonce)
    }

    deinit {
        plaintext.deallocate()
        sealed.deallocate()
    }

    package func write(_ bytes: UnsafeRawBufferPointer) throws {
        var offset = 0
        while offset < bytes.count {
            if filled == AgePayload.chunkSize { try sealChunk(last: false) }
            let n = min(bytes.count - offset, AgePayload.chunkSize - filled)
            (plaintext.baseAddress! + filled).copyMemory(from: bytes.baseAddress! + offset, byteCount: n)
            filled += n
            offset += n
        }
    }

    package func close() throws {
        guard !closed else { return }
        closed = true
        try sealChunk(last: true)
        try next.close()
    }

    private func sealChunk(last: Bool) throws {
        try cipher.seal(UnsafeRawBufferPointer(rebasing: plaintext[0..<filled]),
                        nonce: AgePayload.chunkNonce(counter, last: last), into: sealed.baseAddress!)
        try next.write(UnsafeRawBufferPointer(rebasing: sealed[0..<(filled + ChaChaPoly.tagLength)]))
        counter += 1
        filled = 0
    }
}

/// Decrypts an age file read from `source`. Each chunk is authenticated before any byte of it
/// is returned, and the end of the stream without a valid final chunk is an error.
package final class AgeDecryptingSource: ByteSource {
    private let reader: LineReader
    private let cipher: ChaChaPoly
    private let sealed = UnsafeMutableRawBufferPointer.allocate(byteCount: AgePayload.sealedChunkSize + 1, alignment: 16)
    private let plaintext = UnsafeMutableRawBufferPointer.allocate(byteCount: AgePayload.chunkSize, alignment: 16)
    private var available = 0..<0
    private var counter: UInt64 = 0
    private var pendingByte: UInt8?
    private var finished = false
    /// A failure found after a chunk authenticated: its plaintext is released first, as age's
    /// reference reader does (C2SP/CCTV's `payload` hashes), and this is thrown at the next read.
    private var pendingError: AgeError?

    package init(_ source: ByteSource, keys: AgeKeyring) throws {
        let reader = LineReader(source)
        self.reader = reader
        let (header, mac) = try AgeHeader.parse(reader)
        let fileKey = try AgeStanzas.unwrap(header.stanzas, with: keys)
        let expected = try Crypto.hmacSHA256(key: try AgeHeader.macKey(fileKey: fileKey), message: header.macInput)
        guard expected == mac else { throw AgeError.headerMACMismatch }
        var nonce = [UInt8](repeating: 0, count: AgePayload.nonceLength)
        let n = try nonce.withUnsafeMutableBytes { try reader.readFully(into: $0) }
        guard n == AgePayload.nonceLength else { throw AgeError.malformedHeader("the payload's 16-byte nonce is missing or short") }
        cipher = try ChaChaPoly(key: try AgePayload.key(fileKey: fileKey, nonce: nonce))
    }

    deinit {
        sealed.deallocate()
        plaintext.deallocate()
    }

    package func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        if available.isEmpty {
            if let pendingError { throw pendingError }
            if finished { return 0 }
            try openNextChunk()
            if available.isEmpty { return 0 }
        }
        let n = min(buffer.count, available.count)
        buffer.baseAddress!.copyMemory(from: plaintext.baseAddress! + available.lowerBound, byteCount: n)
        available = (available.lowerBound + n)..<available.upperBound
        return n
    }

    private func openNextChunk() throws {
        var length = 0
        if let byte = pendingByte {
            sealed[0] = byte
            length = 1
            pendingByte = nil
        }
        length += try reader.readFully(into: UnsafeMutableRawBufferPointer(rebasing: sealed[length..<AgePayload.sealedChunkSize]))
        // A full chunk is the final one only if nothing follows it.
        var last = length < AgePayload.sealedChunkSize
        if !last {
            let extra = try reader.readFully(into: UnsafeMutableRawBufferPointer(rebasing: sealed[AgePayload.sealedChunkSize...]))
            if extra == 0 { last = true } else { pendingByte = sealed[AgePayload.sealedChunkSize] }
        }
        let chunk = Int(counter) + 1
        guard length > ChaChaPoly.tagLength || (length == ChaChaPoly.tagLength && counter == 0) else {
            throw length == 0 ? AgeError.truncated(afterChunk: Int(counter)) : AgeError.payloadCorrupted(chunk: chunk)
        }
        let input = UnsafeRawBufferPointer(rebasing: sealed[0..<length])
        guard cipher.open(input, nonce: AgePayload.chunkNonce(counter, last: last), into: plaintext.baseAddress!) else {
            // A full chunk that authenticates as non-final where the stream ends: a truncation
            // (a short one would have to be final, so it is not released);
            // one that authenticates as final with more bytes after it: trailing data. Either
            // way the chunk itself is authentic and is released before the failure.
            if last, length == AgePayload.sealedChunkSize, cipher.open(input, nonce: AgePayload.chunkNonce(counter, last: false), into: plaintext.baseAddress!) {
                pendingError = .truncated(afterChunk: chunk)
            } else if !last, cipher.open(input, nonce: AgePayload.chunkNonce(counter, last: true), into: plaintext.baseAddress!) {
                pendingError = .payloadCorrupted(chunk: chunk + 1)
            } else {
                throw AgeError.payloadCorrupted(chunk: chunk)
            }
            counter += 1
            available = 0..<(length - ChaChaPoly.tagLength)
            finished = true
            return
        }
        counter += 1
        available = 0..<(length - ChaChaPoly.tagLength)
        finished = last
    }
}
