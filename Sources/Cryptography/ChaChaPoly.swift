import COpenSSL

/// ChaCha20-Poly1305 (RFC 7539) with one key and a reusable OpenSSL context, which matters for
/// the payload: one context serves every 64 KiB chunk of a stream.
package final class ChaChaPoly {
    package static let tagLength = 16
    private let context: OpaquePointer
    private let key: [UInt8]

    package init(key: [UInt8]) throws {
        precondition(key.count == 32)
        guard let context = EVP_CIPHER_CTX_new() else { throw OpenSSLError("EVP_CIPHER_CTX_new") }
        self.context = context
        self.key = key
    }

    deinit { EVP_CIPHER_CTX_free(context) }

    /// Encrypts `plaintext` and writes ciphertext followed by the 16-byte tag to `out`, which
    /// has room for `plaintext.count + 16` bytes.
    package func seal(_ plaintext: UnsafeRawBufferPointer, nonce: [UInt8], into out: UnsafeMutableRawPointer) throws {
        guard EVP_EncryptInit_ex(context, EVP_chacha20_poly1305(), nil, key, nonce) == 1 else { throw OpenSSLError("ChaCha20-Poly1305 init") }
        var length: Int32 = 0
        let output = out.assumingMemoryBound(to: UInt8.self)
        if !plaintext.isEmpty {
            guard EVP_EncryptUpdate(context, output, &length, plaintext.baseAddress!.assumingMemoryBound(to: UInt8.self), Int32(plaintext.count)) == 1
            else { throw OpenSSLError("ChaCha20-Poly1305 encrypt") }
        }
        var final: Int32 = 0
        guard EVP_EncryptFinal_ex(context, output + Int(length), &final) == 1,
              EVP_CIPHER_CTX_ctrl(context, EVP_CTRL_AEAD_GET_TAG, Int32(Self.tagLength), output + plaintext.count) == 1
        else { throw OpenSSLError("ChaCha20-Poly1305 tag") }
    }

    /// Authenticates and decrypts `sealed` (ciphertext and tag) into `out`; false when the tag
    /// does not match, in which case nothing in `out` may be used.
    package func open(_ sealed: UnsafeRawBufferPointer, nonce: [UInt8], into out: UnsafeMutableRawPointer) -> Bool {
        guard sealed.count >= Self.tagLength else { return false }
        let ciphertextLength = sealed.count - Self.tagLength
        let input = sealed.baseAddress!.assumingMemoryBound(to: UInt8.self)
        var tag = Array(UnsafeBufferPointer(start: input + ciphertextLength, count: Self.tagLength))
        guard EVP_DecryptInit_ex(context, EVP_chacha20_poly1305(), nil, key, nonce) == 1 else { return false }
        let output = out.assumingMemoryBound(to: UInt8.self)
        var length: Int32 = 0
        if ciphertextLength > 0 {
            guard EVP_DecryptUpdate(context, output, &length, input, Int32(ciphertextLength)) == 1 else { return false }
        }
        guard EVP_CIPHER_CTX_ctrl(context, EVP_CTRL_AEAD_SET_TAG, Int32(Self.tagLength), &tag) == 1 else { return false }
        var final: Int32 = 0
        return EVP_DecryptFinal_ex(context, output + Int(length), &final) == 1
    }

    package func seal(_ plaintext: [UInt8], nonce: [UInt8]) throws -> [UInt8] {
        var out = [UInt8](repeating: 0, count: plaintext.count + Self.tagLength)
        try plaintext.withUnsafeBytes { input in
            try out.withUnsafeMutableBytes { try seal(input, nonce: nonce, into: $0.baseAddress!) }
        }
        return out
    }

    package func open(_ sealed: [UInt8], nonce: [UInt8]) -> [UInt8]? {
        guard sealed.count >= Self.tagLength else { return nil }
        var out = [UInt8](repeating: 0, count: sealed.count - Self.tagLength + 1)
        let ok = sealed.withUnsafeBytes { input in out.withUnsafeMutableBytes { open(input, nonce: nonce, into: $0.baseAddress!) } }
        return ok ? Array(out.dropLast()) : nil
    }
}
