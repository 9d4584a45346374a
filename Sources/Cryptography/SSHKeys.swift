import Foundation

/// An Ed25519 public key in OpenSSH's form (`ssh-ed25519 AAAA… comment`).
public struct SSHPublicKey: Sendable, Equatable {
    public static let keyType = "ssh-ed25519"
    public let rawKey: [UInt8]

    public init(rawKey: [UInt8]) {
        precondition(rawKey.count == 32)
        self.rawKey = rawKey
    }

    /// The wire blob: string "ssh-ed25519", string key.
    public var blob: [UInt8] {
        var writer = SSHWriter()
        writer.string(Self.keyType)
        writer.string(rawKey)
        return writer.bytes
    }

    init(blob: [UInt8]) throws {
        var reader = SSHReader(blob)
        let type = try reader.text()
        guard type == Self.keyType else { throw SSHKeyError.unsupportedKeyType(type) }
        let key = try reader.string()
        guard key.count == 32, reader.isAtEnd else { throw SSHKeyError.malformed("an ssh-ed25519 key is 32 bytes") }
        rawKey = key
    }

    /// Parses `ssh-ed25519 AAAA… [comment]`.
    public init(line: String) throws {
        let fields = line.split(separator: " ", omittingEmptySubsequences: true)
        guard fields.count >= 2 else { throw SSHKeyError.malformed("a public key line is `ssh-ed25519 AAAA… [comment]`") }
        guard fields[0] == Self.keyType else { throw SSHKeyError.unsupportedKeyType(String(fields[0])) }
        guard let data = Data(base64Encoded: String(fields[1])) else { throw SSHKeyError.malformed("the key is not base64") }
        try self.init(blob: [UInt8](data))
    }

    public func line(comment: String = "") -> String {
        "\(Self.keyType) \(Data(blob).base64EncodedString())" + (comment.isEmpty ? "" : " \(comment)")
    }

    /// `SHA256:…` as `ssh-keygen -l` prints it.
    public var fingerprint: String {
        "SHA256:" + RawBase64.encode(SHA256Hasher.hash(blob).bytes)
    }
}

/// An unencrypted OpenSSH Ed25519 private key, the signer of seals.
public struct SSHSigningKey: Sendable {
    let seed: [UInt8]
    public let publicKey: SSHPublicKey
    public let comment: String

    private init(seed: [UInt8], comment: String) throws {
        self.seed = seed
        self.publicKey = SSHPublicKey(rawKey: try Crypto.ed25519PublicKey(seed: seed))
        self.comment = comment
    }

    public static func generate(comment: String) throws -> SSHSigningKey {
        try SSHSigningKey(seed: Crypto.randomBytes(32), comment: comment)
    }

    public static func load(file path: String) throws -> SSHSigningKey {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { throw SSHKeyError.unreadable(path) }
        do {
            return try SSHSigningKey(openSSH: text)
        } catch SSHKeyError.encryptedPrivateKey {
            throw SSHKeyError.encryptedPrivateKey(path)
        }
    }

    /// Parses the `openssh-key-v1` format (PROTOCOL.key in OpenSSH's sources).
    public init(openSSH text: String) throws {
        var reader = SSHReader(try SSHArmor.decode(text, label: "OPENSSH PRIVATE KEY"))
        guard try reader.raw(15) == Array("openssh-key-v1\0".utf8) else { throw SSHKeyError.malformed("not an openssh-key-v1 key") }
        let cipher = try reader.text()
        let kdf = try reader.text()
        _ = try reader.string()
        guard cipher == "none", kdf == "none" else { throw SSHKeyError.encryptedPrivateKey("") }
        guard try reader.uint32() == 1 else { throw SSHKeyError.malformed("the file holds more than one key") }
        let publicBlob = try reader.string()
        var section = SSHReader(try reader.string())
        guard try section.uint32() == (try section.uint32()) else { throw SSHKeyError.malformed("check integers differ") }
        let type = try section.text()
        guard type == SSHPublicKey.keyType else { throw SSHKeyError.unsupportedKeyType(type) }
        let publicKey = try section.string()
        let secret = try section.string()
        let comment = try section.text()
        guard publicKey.count == 32, secret.count == 64, Array(secret[32...]) == publicKey else {
            throw SSHKeyError.malformed("inconsistent ed25519 key")
        }
        try self.init(seed: Array(secret[..<32]), comment: comment)
        guard self.publicKey.blob == publicBlob, self.publicKey.rawKey == publicKey else {
            throw SSHKeyError.malformed("the private key does not match its public key")
        }
    }

    /// The key in OpenSSH's private key format, as `ssh-keygen -t ed25519 -N ''` writes it.
    public var openSSH: String {
        var section = SSHWriter()
        let check = UInt32.random(in: 0...UInt32.max)
        section.uint32(check)
        section.uint32(check)
        section.string(SSHPublicKey.keyType)
        section.string(publicKey.rawKey)
        section.string(seed + publicKey.rawKey)
        section.string(comment)
        var pad: UInt8 = 1
        while section.bytes.count % 8 != 0 {
            section.raw([pad])
            pad += 1
        }
        var writer = SSHWriter()
        writer.raw(Array("openssh-key-v1\0".utf8))
        writer.string("none")
        writer.string("none")
        writer.string([UInt8]())
        writer.uint32(1)
        writer.string(publicKey.blob)
        writer.string(section.bytes)
        return SSHArmor.encode(writer.bytes, label: "OPENSSH PRIVATE KEY")
    }

    func sign(_ message: [UInt8]) throws -> [UInt8] { try Crypto.ed25519Sign(seed: seed, message: message) }
}
