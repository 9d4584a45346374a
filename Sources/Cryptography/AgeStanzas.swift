/// Wrapping and unwrapping the file key for the X25519 and scrypt recipient types.
enum AgeStanzas {
    static let x25519Info = "age-encryption.org/v1/X25519"
    static let scryptLabel = "age-encryption.org/v1/scrypt"
    static let zeroNonce = [UInt8](repeating: 0, count: 12)
    /// The work factor pgseal writes (2^18, as age does by default) and the most it accepts.
    static let scryptLogN = 18
    static let scryptMaxLogN = 22

    static func x25519(fileKey: [UInt8], to recipient: AgeRecipient) throws -> AgeStanza {
        let ephemeral = Crypto.randomBytes(32)
        let share = try Crypto.x25519PublicKey(privateKey: ephemeral)
        let shared = try Crypto.x25519(privateKey: ephemeral, publicKey: recipient.publicKey)
        let wrapKey = try Crypto.hkdfSHA256(ikm: shared, salt: share + recipient.publicKey, info: x25519Info)
        return AgeStanza(arguments: ["X25519", RawBase64.encode(share)], body: try ChaChaPoly(key: wrapKey).seal(fileKey, nonce: zeroNonce))
    }

    static func scrypt(fileKey: [UInt8], passphrase: [UInt8], logN: Int = scryptLogN) throws -> AgeStanza {
        let salt = Crypto.randomBytes(16)
        let wrapKey = try Crypto.scrypt(passphrase: passphrase, salt: Array(scryptLabel.utf8) + salt, logN: logN)
        return AgeStanza(arguments: ["scrypt", RawBase64.encode(salt), String(logN)],
                         body: try ChaChaPoly(key: wrapKey).seal(fileKey, nonce: zeroNonce))
    }

    /// The file key, from the first stanza one of the keys opens.
    static func unwrap(_ stanzas: [AgeStanza], with keys: AgeKeyring) throws -> [UInt8] {
        let types = stanzas.map { $0.arguments[0] }
        if types.contains("scrypt") {
            guard stanzas.count == 1 else { throw AgeError.malformedHeader("an scrypt stanza must be the only stanza") }
            guard let passphrase = keys.passphrase else { throw AgeError.passphraseRequired }
            return try unwrapScrypt(stanzas[0], passphrase: passphrase)
        }
        for stanza in stanzas where stanza.arguments[0] == "X25519" {
            guard stanza.arguments.count == 2, let share = RawBase64.decode(stanza.arguments[1]), share.count == 32 else {
                throw AgeError.malformedHeader("an X25519 stanza's share is not 32 bytes")
            }
            guard stanza.body.count == 32 else { throw AgeError.malformedHeader("an X25519 stanza's body is not 32 bytes") }
            for identity in keys.identities {
                // OpenSSL refuses to derive from a low-order point (an all-zero secret).
                guard let shared = try? Crypto.x25519(privateKey: identity.privateKey, publicKey: share) else {
                    throw AgeError.malformedHeader("an X25519 share is a low-order point")
                }
                guard shared.contains(where: { $0 != 0 }) else { throw AgeError.malformedHeader("an X25519 share is a low-order point") }
                let recipient = try Crypto.x25519PublicKey(privateKey: identity.privateKey)
                let wrapKey = try Crypto.hkdfSHA256(ikm: shared, salt: share + recipient, info: x25519Info)
                if let fileKey = try ChaChaPoly(key: wrapKey).open(stanza.body, nonce: zeroNonce), fileKey.count == 16 {
                    return fileKey
                }
            }
        }
        throw AgeError.noMatchingIdentity(stanzaTypes: Array(Set(types)).sorted())
    }

    private static func unwrapScrypt(_ stanza: AgeStanza, passphrase: [UInt8]) throws -> [UInt8] {
        let arguments = stanza.arguments
        guard arguments.count == 3, let salt = RawBase64.decode(arguments[1]), salt.count == 16,
              arguments[2].first != "0", let logN = Int(arguments[2]), arguments[2].allSatisfy(\.isNumber)
        else { throw AgeError.malformedHeader("the scrypt stanza's arguments are not a 16-byte salt and a work factor") }
        guard logN <= scryptMaxLogN else { throw AgeError.malformedHeader("scrypt work factor 2^\(logN) is above the limit 2^\(scryptMaxLogN)") }
        guard stanza.body.count == 32 else { throw AgeError.malformedHeader("the scrypt stanza's body is not 32 bytes") }
        let wrapKey = try Crypto.scrypt(passphrase: passphrase, salt: Array(scryptLabel.utf8) + salt, logN: logN)
        guard let fileKey = try ChaChaPoly(key: wrapKey).open(stanza.body, nonce: zeroNonce), fileKey.count == 16 else {
            throw AgeError.wrongPassphrase
        }
        return fileKey
    }
}
