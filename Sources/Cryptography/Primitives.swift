import COpenSSL

/// The cryptographic primitives of age and SSHSIG, each a thin call into OpenSSL 3 that owns
/// its contexts for the length of the call and turns failures into `OpenSSLError`.
package enum Crypto {
    package static func randomBytes(_ count: Int) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: count)
        guard RAND_bytes(&bytes, Int32(count)) == 1 else { fatalError("RAND_bytes failed: \(OpenSSLError.last())") }
        return bytes
    }

    // MARK: X25519 (RFC 7748)

    /// X25519(scalar, basepoint): the package key of a private scalar.
    package static func x25519PublicKey(privateKey: [UInt8]) throws -> [UInt8] {
        let key = try rawPrivateKey(EVP_PKEY_X25519, privateKey)
        defer { EVP_PKEY_free(key) }
        return try rawPublicKey(key)
    }

    /// X25519(scalar, point): the shared secret.
    package static func x25519(privateKey: [UInt8], publicKey: [UInt8]) throws -> [UInt8] {
        let own = try rawPrivateKey(EVP_PKEY_X25519, privateKey)
        defer { EVP_PKEY_free(own) }
        guard let peer = EVP_PKEY_new_raw_public_key(EVP_PKEY_X25519, nil, publicKey, publicKey.count) else {
            throw OpenSSLError("X25519 package key")
        }
        defer { EVP_PKEY_free(peer) }
        guard let context = EVP_PKEY_CTX_new(own, nil) else { throw OpenSSLError("EVP_PKEY_CTX_new") }
        defer { EVP_PKEY_CTX_free(context) }
        var length = 32
        var secret = [UInt8](repeating: 0, count: 32)
        guard EVP_PKEY_derive_init(context) == 1, EVP_PKEY_derive_set_peer(context, peer) == 1,
              EVP_PKEY_derive(context, &secret, &length) == 1, length == 32
        else { throw OpenSSLError("X25519") }
        return secret
    }

    // MARK: Ed25519 (RFC 8032)

    package static func ed25519PublicKey(seed: [UInt8]) throws -> [UInt8] {
        let key = try rawPrivateKey(EVP_PKEY_ED25519, seed)
        defer { EVP_PKEY_free(key) }
        return try rawPublicKey(key)
    }

    package static func ed25519Sign(seed: [UInt8], message: [UInt8]) throws -> [UInt8] {
        let key = try rawPrivateKey(EVP_PKEY_ED25519, seed)
        defer { EVP_PKEY_free(key) }
        guard let context = EVP_MD_CTX_new() else { throw OpenSSLError("EVP_MD_CTX_new") }
        defer { EVP_MD_CTX_free(context) }
        var length = 64
        var signature = [UInt8](repeating: 0, count: 64)
        guard EVP_DigestSignInit(context, nil, nil, nil, key) == 1,
              EVP_DigestSign(context, &signature, &length, message, message.count) == 1
        else { throw OpenSSLError("Ed25519 sign") }
        return signature
    }

    package static func ed25519Verify(publicKey: [UInt8], signature: [UInt8], message: [UInt8]) -> Bool {
        guard publicKey.count == 32, signature.count == 64,
              let key = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nil, publicKey, 32)
        else { return false }
        defer { EVP_PKEY_free(key) }
        guard let context = EVP_MD_CTX_new() else { return false }
        defer { EVP_MD_CTX_free(context) }
        return EVP_DigestVerifyInit(context, nil, nil, nil, key) == 1
            && EVP_DigestVerify(context, signature, 64, message, message.count) == 1
    }

    // MARK: HKDF-SHA-256 (RFC 5869), HMAC-SHA-256, SHA-512, scrypt (RFC 7914)

    package static func hkdfSHA256(ikm: [UInt8], salt: [UInt8], info: String, length: Int = 32) throws -> [UInt8] {
        guard let context = EVP_PKEY_CTX_new_id(EVP_PKEY_HKDF, nil) else { throw OpenSSLError("HKDF context") }
        defer { EVP_PKEY_CTX_free(context) }
        let info = Array(info.utf8)
        var out = [UInt8](repeating: 0, count: length)
        var outLength = length
        // The set1/add1 calls copy their arguments into the context.
        guard EVP_PKEY_derive_init(context) == 1,
              EVP_PKEY_CTX_set_hkdf_md(context, EVP_sha256()) == 1,
              EVP_PKEY_CTX_set1_hkdf_salt(context, salt, Int32(salt.count)) == 1,
              EVP_PKEY_CTX_set1_hkdf_key(context, ikm, Int32(ikm.count)) == 1,
              EVP_PKEY_CTX_add1_hkdf_info(context, info, Int32(info.count)) == 1,
              EVP_PKEY_derive(context, &out, &outLength) == 1, outLength == length
        else { throw OpenSSLError("HKDF-SHA-256") }
        return out
    }

    /// scrypt with r = 8, p = 1, as age uses it.
    package static func scrypt(passphrase: [UInt8], salt: [UInt8], logN: Int, length: Int = 32) throws -> [UInt8] {
        var out = [UInt8](repeating: 0, count: length)
        let n = UInt64(1) << UInt64(logN)
        // 128 * r * N bytes of working memory, and some room.
        let maxMemory = UInt64(128 * 8) * n + (1 << 20)
        guard EVP_PBE_scrypt(passphrase.map { CChar(bitPattern: $0) }, passphrase.count, salt, salt.count,
                             n, 8, 1, maxMemory, &out, length) == 1
        else { throw OpenSSLError("scrypt") }
        return out
    }

    /// Whether `a` and `b` are equal, in time that does not depend on where they differ (MACs).
    package static func constantTimeEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        guard a.count == b.count else { return false }
        return a.isEmpty || CRYPTO_memcmp(a, b, a.count) == 0
    }

    package static func hmacSHA256(key: [UInt8], message: [UInt8]) throws -> [UInt8] {
        var out = [UInt8](repeating: 0, count: 32)
        var length: UInt32 = 0
        guard HMAC(EVP_sha256(), key, Int32(key.count), message, message.count, &out, &length) != nil, length == 32 else {
            throw OpenSSLError("HMAC-SHA-256")
        }
        return out
    }

    /// MD5, for S3's Content-MD5 and ETags only (an integrity check against transmission errors,
    /// not a security property).
    package static func md5(_ message: UnsafeRawBufferPointer) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: 16)
        var length: UInt32 = 0
        EVP_Digest(message.baseAddress, message.count, &out, &length, EVP_md5(), nil)
        return out
    }

    package static func sha512(_ message: [UInt8]) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: 64)
        var length: UInt32 = 0
        EVP_Digest(message, message.count, &out, &length, EVP_sha512(), nil)
        return out
    }

    // MARK: helpers

    private static func rawPrivateKey(_ type: Int32, _ bytes: [UInt8]) throws -> OpaquePointer {
        guard bytes.count == 32, let key = EVP_PKEY_new_raw_private_key(type, nil, bytes, 32) else {
            throw OpenSSLError("raw private key")
        }
        return key
    }

    private static func rawPublicKey(_ key: OpaquePointer) throws -> [UInt8] {
        var length = 32
        var out = [UInt8](repeating: 0, count: 32)
        guard EVP_PKEY_get_raw_public_key(key, &out, &length) == 1, length == 32 else { throw OpenSSLError("raw package key") }
        return out
    }

}
