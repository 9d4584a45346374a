import ArchiveReading
import ArgumentParser
import PGSealKit

/// The archive a command reads, spelled the same on every command: a path or s3://bucket/key —
/// or, with `--latest`, a store whose newest verified archive (of `--profile`) is meant, so that
/// a runbook can say "the newest archive" for a directory and a bucket alike.
struct ArchiveArgument: ParsableArguments {
    @Argument(help: ArgumentHelp("The archive: a path or s3://bucket/key. With --latest: the store (a directory or s3://bucket/prefix/).", valueName: "archive"))
    var archive: String

    @Flag(name: .long, help: "Read the newest archive in the store given whose seal verifies against --trusted-key.")
    var latest = false

    @Option(name: .long, help: ArgumentHelp("With --latest: whose newest archive (needed when the store holds several profiles).", valueName: "profile"))
    var profile: String?

    func validate() throws {
        if profile != nil && !latest { throw ValidationError("--profile chooses an archive only together with --latest") }
    }

    /// The archive's location. With `--latest`, the store is searched (trusted signers needed:
    /// an unverified archive is never "the newest") and the choice is said on stderr.
    func location(policy: TrustPolicy, context: CommandContext) throws -> String {
        guard latest else { return archive }
        guard !policy.signers.isEmpty else {
            throw ValidationError("--latest chooses among archives whose seal verifies: give --trusted-key")
        }
        let chosen = try PGSeal.latestArchive(in: archive, profile: profile, signers: policy.signers, storeSettings: context.storeSettings)
        HumanOutput.err("pgseal: the newest verified archive: \(chosen)")
        return chosen
    }
}
