import ByteStreams
import Foundation

/// Detached signatures in OpenSSH's SSHSIG format (PROTOCOL.sshsig), as `ssh-keygen -Y sign`
/// makes and `ssh-keygen -Y verify` checks them: Ed25519 over a SHA-512 of the message,
/// bound to a namespace.
package enum SSHSignature {
    static let magic = Array("SSHSIG".utf8)
    static let hashAlgorithm = "sha512"

    package enum VerificationError: Error, CustomStringConvertible, IntegrityViolation {
        case malformed(String)
        case wrongNamespace(found: String, expected: String)
        case untrustedSigner(fingerprint: String)
        case badSignature(fingerprint: String)
        case revoked(fingerprint: String)
        case notAllowed(fingerprint: String, reasons: [String])

        package var description: String {
            switch self {
            case .malformed(let reason): "the signature file is not a valid SSH signature: \(reason)"
            case .wrongNamespace(let found, let expected): "the signature is for namespace \(found), not \(expected)"
            case .untrustedSigner(let fingerprint): "the signature was made by \(fingerprint), which is not a trusted signer"
            case .badSignature(let fingerprint): "the signature by \(fingerprint) does not match the signed file: it was altered"
            case .revoked(let fingerprint): "the signature was made by \(fingerprint), a revoked key"
            case .notAllowed(let fingerprint, let reasons): "the signature was made by \(fingerprint), which the trusted signers do not allow here: " + reasons.joined(separator: "; ")
            }
        }

        package var isIntegrityFailure: Bool { true }
    }

    /// The bytes Ed25519 signs: the preamble, namespace, reserved, hash algorithm and hash.
    static func signedData(message: [UInt8], namespace: String, hashAlgorithm: String) -> [UInt8] {
        var writer = SSHWriter()
        writer.raw(magic)
        writer.string(namespace)
        writer.string([UInt8]())
        writer.string(hashAlgorithm)
        writer.string(hashAlgorithm == "sha256" ? SHA256Hasher.hash(message).bytes : Crypto.sha512(message))
        return writer.bytes
    }

    /// An armored signature of `message` (`-----BEGIN SSH SIGNATURE-----`).
    package static func sign(_ message: [UInt8], namespace: String, key: SSHSigningKey) throws -> String {
        var signature = SSHWriter()
        signature.string(SSHPublicKey.keyType)
        signature.string(try key.sign(signedData(message: message, namespace: namespace, hashAlgorithm: hashAlgorithm)))
        var writer = SSHWriter()
        writer.raw(magic)
        writer.uint32(1)
        writer.string(key.publicKey.blob)
        writer.string(namespace)
        writer.string([UInt8]())
        writer.string(hashAlgorithm)
        writer.string(signature.bytes)
        return SSHArmor.encode(writer.bytes, label: "SSH SIGNATURE")
    }

    /// Who signed, as the trusted signers name them.
    package struct Signer: Sendable {
        package let key: SSHPublicKey
        package let principals: [String]
        package var fingerprint: String { key.fingerprint }
    }

    /// Checks an armored signature of `message` as `ssh-keygen -Y verify` would with `signers`
    /// as its allowed_signers file (and `principal` as its `-I`, when given), at `time`.
    @discardableResult
    package static func verify(_ armored: String, message: [UInt8], namespace: String, signers: AllowedSigners,
                              principal: String? = nil, at time: Date = Date()) throws -> Signer {
        let blob: [UInt8]
        do { blob = try SSHArmor.decode(armored, label: "SSH SIGNATURE") } catch { throw VerificationError.malformed("\(error)") }
        var reader = SSHReader(blob)
        do {
            guard try reader.raw(6) == magic, try reader.uint32() == 1 else { throw VerificationError.malformed("not an SSHSIG version 1 blob") }
            let signer = try SSHPublicKey(blob: try reader.string())
            let signedNamespace = try reader.text()
            _ = try reader.string()
            let algorithm = try reader.text()
            var signature = SSHReader(try reader.string())
            guard try signature.text() == SSHPublicKey.keyType else { throw VerificationError.malformed("not an ssh-ed25519 signature") }
            let raw = try signature.string()
            guard signedNamespace == namespace else { throw VerificationError.wrongNamespace(found: signedNamespace, expected: namespace) }
            guard algorithm == "sha512" || algorithm == "sha256" else { throw VerificationError.malformed("unknown hash \(algorithm)") }
            let principals = try signers.trust(signer, namespace: namespace, principal: principal, at: time).get()
            let data = signedData(message: message, namespace: namespace, hashAlgorithm: algorithm)
            guard Crypto.ed25519Verify(publicKey: signer.rawKey, signature: raw, message: data) else {
                throw VerificationError.badSignature(fingerprint: signer.fingerprint)
            }
            return Signer(key: signer, principals: principals)
        } catch let error as SSHKeyError {
            throw VerificationError.malformed("\(error)")
        }
    }
}
