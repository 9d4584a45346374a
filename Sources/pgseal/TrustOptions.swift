import ArchiveReading
import ArgumentParser
import Cryptography
import Foundation
import PGSealKit

/// Whom an archive's seal must be signed by: the same options on every command that reads
/// archives (verify, restore, diff, inspect, list, check, prune, replicate).
struct TrustOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("allowed_signers file (or a signer's .pub file) of the trusted signers (repeatable; default: PGSEAL_TRUSTED_KEYS, comma-separated).", valueName: "file"))
    var trustedKey: [String] = []

    @Option(name: .long, help: ArgumentHelp("Public keys that are never trusted, one a line, as ssh-keygen -Y verify -r reads them (repeatable).", valueName: "file"))
    var revokedKeys: [String] = []

    @Option(name: .long, help: ArgumentHelp("Only allowed_signers lines naming this principal count (as ssh-keygen -Y verify -I).", valueName: "name"))
    var principal: String?

    /// The trusted-key files given, else those of the environment.
    func files(environment: [String: String]) -> [String] {
        if !trustedKey.isEmpty { return trustedKey }
        return (environment["PGSEAL_TRUSTED_KEYS"] ?? "").split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
    }

    /// The policy from `files` (default: `files()`); an empty list is refused unless
    /// `allowUnsigned`, which reads archives without checking anything.
    func policy(environment: [String: String], files given: [String]? = nil, allowUnsigned: Bool = false) throws -> TrustPolicy {
        let paths = given ?? files(environment: environment)
        guard !paths.isEmpty || allowUnsigned else {
            throw ValidationError("no trusted signer: give --trusted-key allowed_signers (or PGSEAL_TRUSTED_KEYS, or trusted_keys in the config file)")
        }
        let signers = try AllowedSigners.load(files: paths, revokedKeys: revokedKeys)
        for skipped in signers.skipped { HumanOutput.err("pgseal: warning: allowed_signers line skipped: \(skipped)") }
        return TrustPolicy(signers: signers, principal: principal, allowUnsigned: allowUnsigned)
    }
}

/// What reading one archive may cost (verify, restore, diff).
struct LimitOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("The longest row read, in bytes (default 67108864, 64 MiB); a longer line is an error naming its chunk and line.", valueName: "n"))
    var maxRowBytes: Int?

    func validate() throws {
        if let maxRowBytes, maxRowBytes < 1024 { throw ValidationError("--max-row-bytes must be at least 1024") }
    }

    var limits: ReadLimits {
        var limits = ReadLimits()
        if let maxRowBytes { limits.maxRowBytes = maxRowBytes }
        return limits
    }
}

/// `--insecure-unsigned`, for restore and diff only.
struct UnsignedOption: ParsableArguments {
    @Flag(name: .long, help: "Read an archive that has no .seal/.seal.sig (or without --trusted-key): its origin is then unproven. Its rows are still parsed under every bound; a row filter in it is never run.")
    var insecureUnsigned = false
}

/// `-i/--identity`: the age identities that open an encrypted archive, the same on every
/// command that reads inside one.
struct IdentityOptions: ParsableArguments {
    @Option(name: [.customShort("i"), .long], help: ArgumentHelp("age identity file (repeatable): needed to read inside an encrypted archive.", valueName: "file"))
    var identity: [String] = []

    var isEmpty: Bool { identity.isEmpty }

    /// The identities' keyring; empty when none was given (seal-level work needs none).
    func keyring() throws -> AgeKeyring {
        identity.isEmpty ? AgeKeyring() : try KeyOptions.keyring(identities: identity, passphraseFile: nil)
    }
}
