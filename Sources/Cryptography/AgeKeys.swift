import Foundation

/// An age X25519 recipient: the public key that archives are encrypted to (`age1…`).
public struct AgeRecipient: Sendable, Equatable, CustomStringConvertible {
    public let publicKey: [UInt8]

    public init(publicKey: [UInt8]) {
        precondition(publicKey.count == 32)
        self.publicKey = publicKey
    }

    public init(parsing text: String) throws {
        guard let (hrp, data) = Bech32.decode(text.trimmingCharacters(in: .whitespaces)), hrp == "age", data.count == 32,
              text == text.lowercased()
        else { throw AgeError.invalidRecipient(text) }
        self.publicKey = data
    }

    public var description: String { Bech32.encode(hrp: "age", data: publicKey) }

    /// Reads a recipients file: one `age1…` per line; `#` comments and blank lines ignored.
    public static func load(file path: String) throws -> [AgeRecipient] {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { throw AgeError.unreadableKeyFile(path) }
        return try KeyFileLines.lines(text).map { try AgeRecipient(parsing: $0) }
    }
}

/// An age X25519 identity: the private key that decrypts (`AGE-SECRET-KEY-1…`).
public struct AgeIdentity: Sendable {
    let privateKey: [UInt8]

    public init(parsing text: String) throws {
        guard let (hrp, data) = Bech32.decode(text.trimmingCharacters(in: .whitespaces)), hrp == "age-secret-key-", data.count == 32
        else { throw AgeError.invalidIdentity }
        self.privateKey = data
    }

    private init(privateKey: [UInt8]) { self.privateKey = privateKey }

    public static func generate() -> AgeIdentity { AgeIdentity(privateKey: Crypto.randomBytes(32)) }

    public func recipient() throws -> AgeRecipient { AgeRecipient(publicKey: try Crypto.x25519PublicKey(privateKey: privateKey)) }

    public var encoded: String { Bech32.encode(hrp: "age-secret-key-", data: privateKey).uppercased() }

    /// Reads an identity file in age's format: identities one a line, `#` comments ignored.
    public static func load(file path: String) throws -> [AgeIdentity] {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { throw AgeError.unreadableKeyFile(path) }
        let identities = try KeyFileLines.lines(text).map { try AgeIdentity(parsing: $0) }
        guard !identities.isEmpty else { throw AgeError.noIdentityInFile(path) }
        return identities
    }
}

enum KeyFileLines {
    static func lines(_ text: String) -> [String] {
        text.split(whereSeparator: \.isNewline)
            .map { $0.trimmingCharacters(in: .whitespaces) }
            .filter { !$0.isEmpty && !$0.hasPrefix("#") }
    }
}

/// What can unwrap a file key: X25519 identities or a passphrase.
public struct AgeKeyring: Sendable {
    public var identities: [AgeIdentity]
    public var passphrase: [UInt8]?

    public init(identities: [AgeIdentity] = [], passphrase: [UInt8]? = nil) {
        self.identities = identities
        self.passphrase = passphrase
    }

    public var isEmpty: Bool { identities.isEmpty && passphrase == nil }
}
