import ArchiveFormat
import ArchiveReading
import Cryptography
import Export
import Foundation
import ObjectStore
import Operations
import PGSealKit
import Restore
import Verify

/// The library's errors say what failed in its own terms — at most a request's property, never a
/// flag a library caller never saw; the command line adds which of its flags would mend it.
enum FlagHints {
    static func hint(for error: Error) -> String? {
        causes(of: error).lazy.compactMap(hint(forOne:)).first
    }

    /// The error and the errors it carries, outermost first.
    static func causes(of error: Error) -> [Error] {
        var chain: [Error] = [error]
        while let next = carried(by: chain[chain.count - 1]), chain.count < 8 { chain.append(next) }
        return chain
    }

    private static func carried(by error: Error) -> Error? {
        switch error {
        case let wrapped as PGSealError: wrapped.underlying
        case ExportError.workerFailed(_, let underlying), ExportError.seriesLookup(_, let underlying): underlying
        case let archive as ArchiveError: archive.underlying
        default: nil
        }
    }

    private static func hint(forOne error: Error) -> String? {
        switch error {
        case ArchiveAccessError.missingIdentity: "give --identity FILE"
        case VerificationError.missingScratchDatabase: "give --scratch-db URL or PGSEAL_SCRATCH_DB"
        case GateError.noTrustedSigners:
            "give --trusted-key allowed_signers (or PGSEAL_TRUSTED_KEYS), or --insecure-unsigned to read an archive whose origin you cannot check"
        case ExtractError.wouldOverwrite: "give --overwrite to replace them"
        case RestoreError.missingTable: "or give --create-tables"
        case RestoreError.notEmpty: "give --truncate to replace their rows"
        case RecoveryError.noSuchColumn: "in --where"
        case RecoveryError.conflict: "give --on-conflict skip or --on-conflict update"
        case DiffError.unsignedFilter: "give --trusted-key"
        case HTTPError.untrustedPeer: "give the CA's PEM file with --ca-bundle (or PGSEAL_CA_BUNDLE, ca_bundle in the config file)"
        case StoreError.io(_, _, let code) where code == ENOSPC || code == EDQUOT: "or choose another --to"
        case let missing as LatestArchive.NotFound where missing.needsProfile: "give --profile"
        case AgeError.noMatchingIdentity: "give it with --identity"
        case AgeError.passphraseRequired: "give --passphrase-file"
        case KeyFileError.exists: "choose another --out"
        default: nil
        }
    }
}
