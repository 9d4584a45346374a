import ArchiveFormat
import Cryptography
import Display
import Foundation

/// A seal whose signature verified against the trusted signers, with the SHA-256 of its bytes
/// (what the next seal of its series links to). The one check of a seal, for a gated archive
/// and for a seal read alone (a tombstone's, or one in a series walk).
package struct SignedSeal: Sendable {
    package let seal: SealDocument
    package let signer: SSHSignature.Signer
    package let sha256: String

    /// Throws `SealProblem` (exit 1) naming `seal.sig` or `seal`.
    package static func check(sealBytes: [UInt8], signature: [UInt8], objectName: String, policy: TrustPolicy) throws -> SignedSeal {
        let signer: SSHSignature.Signer
        do {
            signer = try SSHSignature.verify(String(decoding: signature, as: UTF8.self), message: sealBytes,
                                             namespace: SealDocument.signatureNamespace, signers: policy.signers,
                                             principal: policy.principal, at: policy.time)
        } catch {
            throw SealProblem(location: "seal.sig", problem: "\(error)")
        }
        let seal: SealDocument
        do { seal = try SealDocument.decode(sealBytes) } catch {
            throw SealProblem(location: "seal", problem: "the signed seal cannot be read: \(error)")
        }
        guard seal.object == objectName else {
            throw SealProblem(location: "seal", problem: "the seal is for \(Terminal.escaped(seal.object)), not for this object")
        }
        guard seal.size >= 0 else { throw SealProblem(location: "seal", problem: "the seal states a negative size") }
        return SignedSeal(seal: seal, signer: signer, sha256: SHA256Hasher.hash(sealBytes).hex)
    }
}

/// An attestation whose signature verified against the trusted verifiers (namespace
/// `pgseal-attestation`, so that no seal signature can pass for one, nor the reverse).
package struct SignedAttestation: Sendable {
    package let attestation: Attestation
    package let signer: SSHSignature.Signer

    /// Throws `SealProblem` naming `attestation.sig` or `attestation`.
    package static func check(bytes: [UInt8], signature: [UInt8], verifiers: AllowedSigners, at time: Date = Date()) throws -> SignedAttestation {
        let signer: SSHSignature.Signer
        do {
            signer = try SSHSignature.verify(String(decoding: signature, as: UTF8.self), message: bytes,
                                             namespace: Attestation.signatureNamespace, signers: verifiers, at: time)
        } catch {
            throw SealProblem(location: "attestation.sig", problem: "\(error)")
        }
        let attestation: Attestation
        do { attestation = try Attestation.decode(bytes) } catch {
            throw SealProblem(location: "attestation", problem: "\(error)")
        }
        guard attestation.verifier == signer.fingerprint else {
            throw SealProblem(location: "attestation", problem: "it names \(Terminal.escaped(attestation.verifier)) as its verifier but was signed by \(signer.fingerprint)")
        }
        return SignedAttestation(attestation: attestation, signer: signer)
    }

    /// Signs `attestation` with `key`: the bytes and their armored SSHSIG.
    package static func sign(_ attestation: Attestation, key: SSHSigningKey) throws -> (document: [UInt8], signature: [UInt8]) {
        let bytes = try attestation.encoded()
        let signature = try SSHSignature.sign(bytes, namespace: Attestation.signatureNamespace, key: key)
        return (bytes, Array(signature.utf8))
    }
}
