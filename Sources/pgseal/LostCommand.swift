import ArgumentParser
import Display
import Foundation
import PGSealKit
import Restore

struct LostCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lost",
        abstract: "After a database restore: the changes it lost, from change segments, listed and put back.",
        discussion: """
            For a database restored to an earlier point (a point-in-time restore, a snapshot): \\
            BASE is a base of change segments (pgseal follow) taken before that point. pgseal \\
            finds the point the database reflects — the newest transaction of the chain whose \\
            effects it shows — or takes --restored-to, and takes every change committed after \\
            it in order: a row still as the restore left it gets the change (put back); a row \\
            already as the change left it is there; a row written since the restore is a \\
            conflict for --on-conflict (skip leaves it, update writes the change's result over \\
            it, fail stops everything). A truncate is never replayed; a filtered table's changes \\
            are listed, not put back. Without --put-back nothing is written: the changes are \\
            listed with what would be done, key by key. With it, all are written in one \\
            transaction. Needs a server for two scratch databases (--scratch-db).
            Exit codes: 0 done (or listed); 1 an archive or segment is bad; 2 could not (a \\
            conflict under fail, a refusal by the database, a chain that does not cover the point).

            Examples:
              pgseal lost BASE.tar.zst.age --db postgres://oncall@db/kessan --scratch-db postgres://admin@scratch/postgres \\
                -i age-identity.txt --trusted-key allowed_signers
              pgseal lost BASE.tar.zst.age --db "$DB" --scratch-db "$SCRATCH" --restored-to 2026-12-04T17:59:00Z \\
                --put-back --on-conflict skip -i age-identity.txt --trusted-key allowed_signers
            """)

    @OptionGroup var target: ArchiveArgument

    @Option(name: .long, help: ArgumentHelp("The restored database: a libpq URL or connection string.", valueName: "url"))
    var db: String

    @OptionGroup var scratch: ScratchOption

    @Option(name: .long, help: ArgumentHelp("The point the database was restored to (an LSN or an RFC 3339 time); default: found from the rows.", valueName: "point"))
    var restoredTo: String?

    @Flag(name: .long, help: "Write the lost changes, in one transaction (without it: list them and what would be done).")
    var putBack = false

    @Option(name: .long, help: ArgumentHelp("A row written since the restore: skip, update or fail (default fail).", valueName: "policy"))
    var onConflict = "fail"

    @Option(name: .long, help: ArgumentHelp("How many changes to list one by one (all are counted; default 1000).", valueName: "n"))
    var show = 1000

    @OptionGroup var identities: IdentityOptions

    @OptionGroup(title: "Trust")
    var trust: TrustOptions

    @OptionGroup var limits: LimitOptions

    @OptionGroup(title: "Output") var output: OutputOptions

    @OptionGroup(title: "S3")
    var s3: S3Options

    @OptionGroup var global: GlobalOptions

    func validate() throws {
        guard RecoveryRequest.Conflict(rawValue: onConflict) != nil else { throw ValidationError("--on-conflict takes skip, update or fail, not \(onConflict)") }
        if let restoredTo {
            guard let point = ReplayTarget(parsing: restoredTo), point != .latest else {
                throw ValidationError("--restored-to \(restoredTo.debugDescription): give an LSN (16/B374D848) or an RFC 3339 time (2026-12-04T18:00:00Z)")
            }
        }
        guard show >= 0 else { throw ValidationError("--show takes 0 or more") }
    }

    func run() throws {
        let context = try CommandContext(global, s3: s3)
        let policy = try trust.policy(environment: context.environment)
        guard let scratchURL = scratch.url(context) else {
            throw ValidationError("give --scratch-db (or PGSEAL_SCRATCH_DB): a server where the base and its segments are replayed, for a role that may CREATE DATABASE")
        }
        var request = LossRequest(base: try target.location(policy: policy, context: context), databaseURL: db, scratchDatabaseURL: scratchURL,
                                  policy: policy, keys: try identities.keyring())
        request.restoredTo = restoredTo.flatMap(ReplayTarget.init(parsing:))
        request.putBack = putBack
        request.onConflict = RecoveryRequest.Conflict(rawValue: onConflict) ?? .fail
        request.show = show
        request.limits = limits.limits
        request.storeSettings = context.storeSettings
        request.cleanup = context.cleanup
        let report = try PGSeal.lost(request) { HumanOutput.err("pgseal: " + $0) }
        try output.emit(report, human: LostSummary.lines(report))
    }
}

enum LostSummary {
    static func lines(_ report: LossReport) -> [String] {
        var lines = TextTable.lines(report.changes.map { change in
            [change.committedAt, change.operation, Terminal.escaped(change.table), Terminal.escaped(change.key.map { $0 ?? "NULL" }.joined(separator: ", ")), change.action]
        })
        if report.changes.count < report.lostChanges { lines.append("… and \(report.lostChanges - report.changes.count) more (see --json)") }
        let how = report.point == "found" ? "found from its rows" : "given"
        lines.append("\(report.database) reflects \(report.restoredTo)\(report.restoredToCommit.map { " (committed \($0))" } ?? "") — \(how)")
        lines.append("lost after it: \(Format.plural(report.lostChanges, "change")) in \(Format.plural(report.lostTransactions, "transaction")); "
            + "\(report.written ? "put back" : "would put back") \(report.putBack), already there \(report.alreadyThere), conflicts \(report.conflicts)"
            + " (left alone \(report.leftAlone), overwritten \(report.overwritten)), not put back \(report.notPutBack)"
            + (report.written ? "" : " — nothing written (--put-back writes)"))
        for note in report.notes { lines.append("note: " + note) }
        return lines
    }
}
