import COpenSSL

/// An incremental SHA-256 over OpenSSL's EVP interface, which is several times faster than
/// coreutils and is the hash every digest of the archive format uses.
///
/// The context is owned here and freed in `deinit`; a digest can be taken any number of
/// times, each call resetting the hasher for the next message.
package final class SHA256Hasher {
    package static let digestLength = 32

    private let context: OpaquePointer
    /// Fetched once per process: `EVP_MD_fetch` is a lookup, not something to do per row.
    nonisolated(unsafe) private static let algorithm: OpaquePointer = {
        guard let md = EVP_MD_fetch(nil, "SHA256", nil) else {
            fatalError("OpenSSL has no SHA256 implementation: \(OpenSSLError.last())")
        }
        return md
    }()

    package init() {
        guard let context = EVP_MD_CTX_new() else { fatalError("EVP_MD_CTX_new: out of memory") }
        self.context = context
        reset()
    }

    deinit { EVP_MD_CTX_free(context) }

    package func reset() {
        guard EVP_DigestInit_ex2(context, Self.algorithm, nil) == 1 else {
            fatalError("EVP_DigestInit_ex2 failed: \(OpenSSLError.last())")
        }
    }

    package func update(_ bytes: UnsafeRawBufferPointer) {
        guard let base = bytes.baseAddress, !bytes.isEmpty else { return }
        EVP_DigestUpdate(context, base, bytes.count)
    }

    package func update(_ bytes: some Sequence<UInt8>) {
        let handled: Void? = bytes.withContiguousStorageIfAvailable { update(UnsafeRawBufferPointer($0)) }
        if handled == nil { update(Array(bytes)) }
    }

    /// Writes the 32-byte digest to `out` and resets the hasher.
    package func finalize(into out: UnsafeMutableRawPointer) {
        var length: UInt32 = 0
        EVP_DigestFinal_ex(context, out.assumingMemoryBound(to: UInt8.self), &length)
        reset()
    }

    package func finalize() -> Digest {
        var digest = Digest()
        withUnsafeMutableBytes(of: &digest.storage) { finalize(into: $0.baseAddress!) }
        return digest
    }

    package static func hash(_ bytes: UnsafeRawBufferPointer) -> Digest {
        let hasher = SHA256Hasher()
        hasher.update(bytes)
        return hasher.finalize()
    }

    package static func hash(_ bytes: some Sequence<UInt8>) -> Digest {
        let hasher = SHA256Hasher()
        hasher.update(bytes)
        return hasher.finalize()
    }
}

/// Hashes short messages (rows) with OpenSSL's low-level SHA-256 functions on a context that
/// lives here: for a hundred bytes, EVP's per-call dispatch costs more than the hash.
package final class ShortMessageHasher {
    private let context = UnsafeMutablePointer<SHA256_CTX>.allocate(capacity: 1)

    package init() {}

    deinit { context.deallocate() }

    @inline(__always)
    package func hash(_ bytes: UnsafeRawBufferPointer) -> Digest {
        var digest = Digest()
        SHA256_Init(context)
        SHA256_Update(context, bytes.baseAddress, bytes.count)
        withUnsafeMutableBytes(of: &digest.storage) { out in
            _ = SHA256_Final(out.baseAddress!.assumingMemoryBound(to: UInt8.self), context)
        }
        return digest
    }
}

/// A SHA-256 digest value; `hex` is the lowercase form every pgseal file uses.
package struct Digest: Hashable, Sendable, CustomStringConvertible {
    fileprivate var storage: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)

    package init() {}

    package init?(hex: String) {
        let utf8 = Array(hex.utf8)
        guard utf8.count == 64 else { return nil }
        var ok = true
        withUnsafeMutableBytes(of: &storage) { raw in
            for i in 0..<32 {
                guard let hi = HexDigits.value(utf8[2 * i]), let lo = HexDigits.value(utf8[2 * i + 1]) else {
                    ok = false
                    return
                }
                raw[i] = hi << 4 | lo
            }
        }
        if !ok { return nil }
    }

    package var bytes: [UInt8] { withUnsafeBytes(of: storage) { Array($0) } }

    package static func == (lhs: Digest, rhs: Digest) -> Bool {
        lhs.storage.0 == rhs.storage.0 && lhs.storage.1 == rhs.storage.1
            && lhs.storage.2 == rhs.storage.2 && lhs.storage.3 == rhs.storage.3
    }

    package func hash(into hasher: inout Hasher) {
        hasher.combine(storage.0)
        hasher.combine(storage.1)
        hasher.combine(storage.2)
        hasher.combine(storage.3)
    }

    /// Writes the 64 lowercase hex characters to `out`.
    package func writeHex(to out: UnsafeMutableRawPointer) {
        withUnsafeBytes(of: storage) { HexDigits.encode($0, to: out) }
    }

    package var hex: String {
        String(unsafeUninitializedCapacity: 64) { buffer in
            writeHex(to: UnsafeMutableRawPointer(buffer.baseAddress!))
            return 64
        }
    }

    package var description: String { hex }
}

package enum HexDigits {
    package static let alphabet: [UInt8] = Array("0123456789abcdef".utf8)

    /// The bytes of an even run of hexadecimal digits (either case); nil for anything else.
    package static func decode(_ text: String) -> [UInt8]? {
        let digits = Array(text.utf8)
        guard digits.count % 2 == 0 else { return nil }
        func value(_ digit: UInt8) -> UInt8? {
            switch digit {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit - UInt8(ascii: "A") + 10
            default: nil
            }
        }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(digits.count / 2)
        var index = 0
        while index + 1 < digits.count {
            guard let high = value(digits[index]), let low = value(digits[index + 1]) else { return nil }
            bytes.append(high << 4 | low)
            index += 2
        }
        return bytes
    }

    package static func encode(_ bytes: UnsafeRawBufferPointer, to out: UnsafeMutableRawPointer) {
        let out = out.assumingMemoryBound(to: UInt8.self)
        alphabet.withUnsafeBufferPointer { digits in
            var i = 0
            while i < bytes.count {
                let byte = bytes[i]
                out[2 * i] = digits[Int(byte >> 4)]
                out[2 * i + 1] = digits[Int(byte & 0x0f)]
                i += 1
            }
        }
    }

    package static func encode(_ bytes: some Collection<UInt8>) -> String {
        let array = Array(bytes)
        return String(unsafeUninitializedCapacity: array.count * 2) { buffer in
            array.withUnsafeBytes { encode($0, to: UnsafeMutableRawPointer(buffer.baseAddress!)) }
            return array.count * 2
        }
    }

    package static func value(_ c: UInt8) -> UInt8? {
        switch c {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return c - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return c - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return c - UInt8(ascii: "A") + 10
        default: return nil
        }
    }
}

extension SHA256Hasher {
    /// SHA-256 over `lines`, each followed by a newline, as hex: how a partitioned archive's seal
    /// sums up its parts (docs/FORMAT.md §10.2), as `sha256sum` would over that text.
    package static func listDigest(_ lines: [String]) -> String {
        hash(Array(lines.map { $0 + "\n" }.joined().utf8)).hex
    }
}
