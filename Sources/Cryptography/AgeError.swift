import ByteStreams
/// Everything that can go wrong reading or writing an age file. `isIntegrityFailure` separates a
/// damaged or tampered file (exit 1) from a missing or wrong key (exit 2).
package enum AgeError: Error, CustomStringConvertible {
    case invalidRecipient(String)
    case invalidIdentity
    case unreadableKeyFile(String)
    case noIdentityInFile(String)
    case noMatchingIdentity(stanzaTypes: [String])
    case wrongPassphrase
    case passphraseRequired
    case malformedHeader(String)
    case headerMACMismatch
    case payloadCorrupted(chunk: Int)
    case truncated(afterChunk: Int)

    package var description: String {
        switch self {
        case .invalidRecipient(let text):
            "\(text.prefix(20))… is not an age X25519 recipient (age1…, 62 characters)"
        case .invalidIdentity:
            "an identity is not an age X25519 secret key (AGE-SECRET-KEY-1…)"
        case .unreadableKeyFile(let path):
            "cannot read key file \(path)"
        case .noIdentityInFile(let path):
            "\(path) holds no AGE-SECRET-KEY-1… identity"
        case .noMatchingIdentity(let types):
            "no identity matches this file (it is encrypted to \(types.joined(separator: ", ")) stanzas) — the identity of one of its recipients is needed"
        case .wrongPassphrase:
            "the passphrase does not decrypt this file"
        case .passphraseRequired:
            "the file is encrypted with a passphrase, and none was given"
        case .malformedHeader(let reason):
            "the age header is damaged: \(reason)"
        case .headerMACMismatch:
            "the age header's MAC does not match: the header was altered"
        case .payloadCorrupted(let chunk):
            "age payload chunk \(chunk) failed authentication: the file was altered, or chunks were removed or reordered"
        case .truncated(let chunk):
            "the age payload ends after chunk \(chunk) without a final chunk: the file is truncated"
        }
    }

    package var isIntegrityFailure: Bool {
        switch self {
        case .malformedHeader, .headerMACMismatch, .payloadCorrupted, .truncated: true
        default: false
        }
    }
}

/// Damaged or tampered age input is an integrity failure (exit 1); `isIntegrityFailure` tells it
/// from a missing or wrong key (exit 2).
extension AgeError: IntegrityViolation {}
