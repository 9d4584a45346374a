import ArgumentParser
import Display
import Foundation
import Logging
import Operations
import PGSealKit
import Settings

struct PruneCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "prune",
        abstract: "Delete archives past their retention, with their sidecars; abort stale incomplete uploads.",
        discussion: """
            Retention as restic spells it, per profile, among archives whose seal verifies: \
            --keep-last N (always; default 1), --keep-daily N, --keep-weekly N, --keep-monthly N \
            (the newest archive of each of the N most recent days, ISO weeks, months that have \
            archives, in UTC), --keep-within SPAN (everything created within SPAN of now, e.g. \
            30d, 36h; --keep-days N is --keep-within Nd). An archive any rule keeps is kept; \
            every archive is listed with what was decided and why. At least one rule besides \
            --keep-last is needed.
            A pruned archive leaves a tombstone: a .tombstone note (when and why) is written \
            first, then the .sha256 and the object go; its seal and signature stay, so that \
            `pgseal chain` still follows the series through it. The remains of a failed export \
            (no signed seal) go whole. Change segments (pgseal follow) go with whole replay \
            chains: a segment stays while its base stays, or while a kept exact base lies in its \
            chain before its end; the newest segment always stays. Objects still \
            under S3 Object Lock retention or a legal hold are reported and kept, not a failure. \
            Running prune twice is harmless.
            Exit codes: 0 done (also when objects are locked); 1 some deletion failed; 2 could \
            not run.

            Examples:
              pgseal prune s3://kessan-backups/pgseal/ --keep-daily 7 --keep-weekly 5 --keep-monthly 12 --dry-run
              pgseal prune /var/backups/pgseal --keep-within 14d --keep-last 3
            """)

    @Argument(help: ArgumentHelp("A store: a directory or s3://bucket/prefix/ (default: `to` of the config file, PGSEAL_TO).", valueName: "store"))
    var store: String?

    @Option(name: .long, help: ArgumentHelp("The configuration file (default: PGSEAL_CONFIG): keep_*, stale_upload_hours.", valueName: "file"))
    var config: String?

    @Option(name: .long, help: ArgumentHelp("Always keep this many newest archives of each profile (default 1; PGSEAL_KEEP_LAST).", valueName: "n"))
    var keepLast: Int?

    @Option(name: .long, help: ArgumentHelp("Keep the newest archive of each of the last N days with archives (PGSEAL_KEEP_DAILY).", valueName: "n"))
    var keepDaily: Int?

    @Option(name: .long, help: ArgumentHelp("Keep the newest archive of each of the last N ISO weeks with archives (PGSEAL_KEEP_WEEKLY).", valueName: "n"))
    var keepWeekly: Int?

    @Option(name: .long, help: ArgumentHelp("Keep the newest archive of each of the last N months with archives (PGSEAL_KEEP_MONTHLY).", valueName: "n"))
    var keepMonthly: Int?

    @Option(name: .long, help: ArgumentHelp("Keep everything created within this span of now: 30d, 36h, 90m (PGSEAL_KEEP_WITHIN).", valueName: "span"))
    var keepWithin: String?

    @Option(name: .long, help: ArgumentHelp("Same as --keep-within Nd (PGSEAL_KEEP_DAYS).", valueName: "days"))
    var keepDays: Int?

    @Option(name: .long, help: ArgumentHelp("Only this profile's archives.", valueName: "name"))
    var profile: String?

    @Flag(name: .long, help: "Show what would be deleted, and why; delete nothing.")
    var dryRun = false

    @Option(name: .long, help: ArgumentHelp("Abort incomplete uploads older than this (default 24).", valueName: "hours"))
    var staleUploadHours: Int?

    @Flag(name: .long, help: "Print the outcome as JSON (every decision with its reasons).")
    var json = false

    @OptionGroup(title: "Trust (only archives whose seal verifies count as sealed)")
    var trust: TrustOptions

    @OptionGroup(title: "S3")
    var s3: S3Options

    @OptionGroup var global: GlobalOptions

    func run() throws {
        let context = try CommandContext(global, s3: s3, configFile: config)
        var flags = OperationsSettings.Flags()
        flags.configFile = config
        flags.store = store
        flags.keepDays = keepDays
        flags.keepLast = keepLast
        flags.keepDaily = keepDaily
        flags.keepWeekly = keepWeekly
        flags.keepMonthly = keepMonthly
        flags.keepWithin = keepWithin
        flags.staleUploadHours = staleUploadHours
        flags.trustedKeys = trust.trustedKey
        let settings = try OperationsSettings.resolve(flags: flags, environment: context.environment)
        guard let store = settings.store else { throw ValidationError("no store: give STORE, or `to:` in the config file (PGSEAL_TO)") }
        let retention = try Self.retention(settings)
        let policy = try trust.policy(environment: context.environment, files: settings.trustedKeys)
        var request = Pruner.Request(store: store, retention: retention, signers: policy.signers, profile: profile, dryRun: dryRun,
                                     staleUploadAge: TimeInterval(settings.staleUploadHours * 3600))
        request.storeSettings = context.storeSettings
        let outcome = try PGSeal.prune(request)
        if json {
            print(try ReportFile.json(outcome))
        } else {
            HumanOutput.out(PruneSummary.lines(outcome))
        }
        if !outcome.failed.isEmpty { throw CommandVerdict.bad("\(outcome.failed.count) deletion(s) failed; the signatures of those archives are deleted or untouched, never the object alone") }
    }

    /// The rules from the settings, refused when they would keep nothing but the newest by
    /// accident, or when a number is out of range.
    static func retention(_ settings: OperationsSettings) throws -> RetentionPolicy {
        guard settings.keepLast >= 1 else { throw ValidationError("--keep-last must be at least 1: prune never deletes the newest archive") }
        for (name, value) in [("--keep-daily", settings.keepDaily), ("--keep-weekly", settings.keepWeekly), ("--keep-monthly", settings.keepMonthly)] where value < 0 {
            throw ValidationError("\(name) must be 0 or more")
        }
        if let days = settings.keepDays, days < 0 { throw ValidationError("--keep-days must be 0 or more") }
        if settings.keepDays != nil, settings.keepWithin != nil { throw ValidationError("--keep-days and --keep-within are one rule: give one") }
        var within = settings.keepDays.map { TimeInterval($0) * 86_400 }
        if let text = settings.keepWithin {
            guard let span = FreshnessCheck.parseDuration(text) else { throw ValidationError("--keep-within takes a span such as 30d, 36h or 90m, not \(text)") }
            within = span
        }
        let policy = RetentionPolicy(last: settings.keepLast, daily: settings.keepDaily, weekly: settings.keepWeekly, monthly: settings.keepMonthly, within: within)
        guard policy.hasTimeRule else {
            throw ValidationError("no retention: give --keep-within 30d, --keep-daily 7, --keep-weekly 5, --keep-monthly 12 (or keep_* in the config file)")
        }
        return policy
    }
}

/// Every archive prune looked at, as an aligned table: what was decided and why.
enum PruneSummary {
    static func lines(_ outcome: Pruner.Outcome) -> [String] {
        let rows = outcome.decisions.map { decision -> [String] in
            let action = decision.action == .delete && outcome.dryRun ? "would delete" : decision.action == .delete ? "deleted" : decision.action.rawValue
            return [action, decision.createdAt, decision.profile, decision.reasons.joined(separator: ", "), decision.key]
        }
        let deleted = outcome.deleted.count
        let summary = (outcome.dryRun ? "\(Format.plural(deleted, "archive")) would be deleted" : "\(Format.plural(deleted, "archive")) deleted")
            + ", \(outcome.kept.count) kept, \(outcome.locked.count) locked"
            + (outcome.unverified.isEmpty ? "" : ", \(outcome.unverified.count) unverified (never deleted)")
            + (outcome.dryRun ? "" : ", \(Format.plural(outcome.abortedUploads, "incomplete upload")) aborted")
        let segmentRows = outcome.segments.map { run -> [String] in
            let action = run.action == .delete && outcome.dryRun ? "would delete" : run.action == .delete ? "deleted" : run.action.rawValue
            let span = run.segments == 1 ? run.first : "\(run.first) … \(run.last)"
            return [action, Format.plural(run.segments, "segment"), run.reason, span]
        }
        let segments = outcome.segments.isEmpty ? [] : TextTable.lines(segmentRows) + [
            (outcome.dryRun ? "\(Format.plural(outcome.segmentsDeleted, "change segment")) would be deleted" : "\(Format.plural(outcome.segmentsDeleted, "change segment")) deleted")
            + " (a kept base keeps every segment of its replay chain)"]
        return TextTable.lines(rows) + [summary] + segments
    }
}
