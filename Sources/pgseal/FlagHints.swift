import ArchiveReading
import PGSealKit

/// The library's errors say what failed in its own terms; the command line adds which of its
/// flags would mend it, so that no library message names a flag a library caller never saw.
enum FlagHints {
    static func hint(for error: Error) -> String? {
        switch (error as? PGSealError)?.underlying ?? error {
        case ArchiveAccessError.missingIdentity: "give --identity FILE"
        case VerificationError.missingScratchDatabase: "give --scratch-db URL or PGSEAL_SCRATCH_DB"
        default: nil
        }
    }
}
