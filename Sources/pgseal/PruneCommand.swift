import ArgumentParser
import ByteStreams
import Logging
import Export
import Foundation
import Operations

struct PruneCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "prune",
        abstract: "Delete archives past their retention, with their sidecars; abort stale incomplete uploads.",
        discussion: """
            An archive is deleted when it is older than --keep-days and is not among the newest \
            --keep-last sealed archives of its profile. Its seal's signature (.seal.sig) goes \
            first, then the seal, the .sha256 and the object: an archive pruned halfway is \
            never taken for a sealed one. Objects still under S3 Object Lock retention or a \
            legal hold are reported and kept, not a failure. Running prune twice is harmless.
            Exit codes: 0 done (also when objects are locked); 1 some deletion failed; 2 could \
            not run.

            Examples:
              pgseal prune s3://kessan-backups/pgseal/ --keep-days 35 --keep-last 7 --dry-run
              pgseal prune /var/backups/pgseal --keep-days 14
            """)

    @Argument(help: ArgumentHelp("A store: a directory or s3://bucket/prefix/ (default: `to` of the config file, PGSEAL_TO).", valueName: "store"))
    var store: String?

    @Option(name: .long, help: ArgumentHelp("The configuration file (default: PGSEAL_CONFIG): keep_days, keep_last, stale_upload_hours.", valueName: "file"))
    var config: String?

    @Option(name: .long, help: ArgumentHelp("Keep archives younger than this many days (PGSEAL_KEEP_DAYS).", valueName: "days"))
    var keepDays: Int?

    @Option(name: .long, help: ArgumentHelp("Always keep this many newest sealed archives of each profile (default 1; PGSEAL_KEEP_LAST).", valueName: "n"))
    var keepLast: Int?

    @Option(name: .long, help: ArgumentHelp("Only this profile's archives.", valueName: "name"))
    var profile: String?

    @Flag(name: .long, help: "Show what would be deleted; delete nothing.")
    var dryRun = false

    @Option(name: .long, help: ArgumentHelp("Abort incomplete uploads older than this (default 24).", valueName: "hours"))
    var staleUploadHours: Int?

    @Flag(name: .long, help: "Print the outcome as JSON.")
    var json = false

    @OptionGroup(title: "Trust (only archives whose seal verifies count as sealed)")
    var trust: TrustOptions

    @OptionGroup(title: "S3")
    var s3: S3Options

    @OptionGroup var global: GlobalOptions

    func run() throws {
        _ = global.bootstrapLogging()
        s3.apply()
        var flags = OperationsSettings.Flags()
        flags.configFile = config
        flags.store = store
        flags.keepDays = keepDays
        flags.keepLast = keepLast
        flags.staleUploadHours = staleUploadHours
        flags.trustedKeys = trust.trustedKey
        let settings = try OperationsSettings.resolve(flags: flags)
        guard let store = settings.store else { throw ValidationError("no store: give STORE, or `to:` in the config file (PGSEAL_TO)") }
        guard let keepDays = settings.keepDays else { throw ValidationError("no retention: give --keep-days N (or keep_days in the config file)") }
        guard keepDays >= 0 else { throw ValidationError("--keep-days must be 0 or more") }
        guard settings.keepLast >= 1 else { throw ValidationError("--keep-last must be at least 1: prune never deletes the newest archive") }
        let policy = try trust.policy(files: settings.trustedKeys)
        let outcome = try Pruner.run(.init(store: store, keepDays: keepDays, keepLast: settings.keepLast, signers: policy.signers, profile: profile, dryRun: dryRun,
                                           staleUploadAge: TimeInterval(settings.staleUploadHours * 3600)))
        if json {
            print(try ReportFile.json(outcome))
        } else {
            for key in outcome.deleted { HumanOutput.out("\(dryRun ? "would delete" : "deleted")  \(key)") }
            for locked in outcome.locked { HumanOutput.out("locked  \(locked.key) (retained until \(locked.until); kept)") }
            for failed in outcome.failed { HumanOutput.out("failed  \(failed.key): \(failed.reason)") }
            for skipped in outcome.unverified { HumanOutput.out("unverified  \(skipped.key) (kept: its seal does not verify — \(skipped.reason))") }
            HumanOutput.out("\(outcome.deleted.count) archive(s) \(dryRun ? "would be deleted" : "deleted"), \(outcome.kept.count) kept, \(outcome.locked.count) locked"
                  + (dryRun ? "" : ", \(outcome.abortedUploads) incomplete upload(s) aborted"))
        }
        if !outcome.failed.isEmpty { throw CheckFailure(message: "\(outcome.failed.count) deletion(s) failed; the signatures of those archives are deleted or untouched, never the object alone") }
    }
}
