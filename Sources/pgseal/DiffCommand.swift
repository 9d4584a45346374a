import ArgumentParser
import Display
import Foundation
import Logging
import Operations
import PGSealKit
import Restore

struct DiffCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "diff",
        abstract: "Compare an archive with a live or restored database, row by row.",
        discussion: """
            After a disaster restore: is the database missing anything the archive has? The \
            seal is verified against --trusted-key first; the archive's filters run only when \
            it verifies, in a read-only snapshot with a statement timeout. The \
            database is read in one snapshot with the archive's own columns, filters and keys, \
            and merged with the archive in key order. Per table: rows equal, changed, only in \
            the archive, only in the database, with the first --show keys of each kind. Tables \
            without a key are compared as multisets (their digests).
            With --replay, ARCHIVE is a base of change segments (pgseal follow): the live \
            database is read in the snapshot of a temporary logical replication slot, and \
            compared with the base and its segments replayed in a scratch database (--scratch-db) \
            to just before that slot's position — the archive against the database to the \
            transaction. The base is verified at level restore and every segment through its \
            seal; diff waits up to --wait for the follower to seal past the position. The \
            snapshot is held open meanwhile (vacuum waits for it).
            Exit codes: 0 no difference; 1 differences found (or the base or a segment does \
            not verify); 2 could not compare.

            Examples:
              pgseal diff X.tar.zst.age --db postgres://oncall@db/kessan -i age-identity.txt
              pgseal diff BASE.tar.zst.age --replay --db postgres://oncall@db/kessan \\
                --scratch-db postgres://admin@scratch/postgres -i age-identity.txt --trusted-key allowed_signers
            """)

    @OptionGroup var target: ArchiveArgument

    @Option(name: .long, help: ArgumentHelp("The database to compare with (libpq URL).", valueName: "url"))
    var db: String

    @OptionGroup var identities: IdentityOptions

    @Flag(name: .long, help: "Compare at one exact position: the base and its change segments replayed, against the database in a temporary slot's snapshot.")
    var replay = false

    @OptionGroup var scratch: ScratchOption

    @Option(name: .long, help: ArgumentHelp("With --replay: how long to wait for pgseal follow to seal past the position (default 5m).", valueName: "span"))
    var wait = "5m"

    @Option(name: .long, help: ArgumentHelp("Keys to list per kind of difference (default 10).", valueName: "n"))
    var show = 10

    @OptionGroup(title: "Output") var output: OutputOptions

    @OptionGroup(title: "Trust")
    var trust: TrustOptions

    @OptionGroup var unsigned: UnsignedOption

    @OptionGroup var limits: LimitOptions

    @Option(name: .long, help: ArgumentHelp("Compare with at most this many database connections (default 8); more tables take more passes over the archive.", valueName: "n"))
    var maxConnections = 8

    @OptionGroup(title: "S3")
    var s3: S3Options

    @OptionGroup var global: GlobalOptions

    func run() throws {
        let context = try CommandContext(global, s3: s3)
        let keys = try identities.keyring()
        let policy = try trust.policy(environment: context.environment, allowUnsigned: unsigned.insecureUnsigned)
        var request = DiffRequest(archive: try target.location(policy: policy, context: context), databaseURL: db, keys: keys, show: show, policy: policy)
        request.limits = limits.limits
        request.maxConnections = maxConnections
        request.storeSettings = context.storeSettings
        let result: DiffReport
        if replay {
            guard let scratchURL = scratch.url(context) else {
                throw ValidationError("--replay needs --scratch-db (or PGSEAL_SCRATCH_DB): a server where the base and its segments are replayed, for a role that may CREATE DATABASE")
            }
            guard let span = FreshnessCheck.parseDuration(wait) else { throw ValidationError("--wait takes a span such as 90s, 5m or 1h, not \(wait)") }
            result = try PGSeal.diffReplayed(request, scratchDatabaseURL: scratchURL, wait: span, cleanup: context.cleanup)
        } else {
            result = try PGSeal.diff(request)
        }
        try output.emit(result, human: DiffSummary.lines(result))
        if result.differs { throw CommandVerdict.bad(nil) }
    }
}

enum DiffSummary {
    static func lines(_ report: DiffReport) -> [String] {
        var out = ["archive \(report.archive)", "database \(report.database) (snapshot \(report.snapshot))"]
        if let position = report.position, let replayed = report.replayed {
            out.append("at WAL position \(position): the base + \(Format.plural(replayed.segments, "change segment")) replayed (\(Format.plural(replayed.transactions, "transaction")), \(Format.plural(replayed.changes, "change")))")
        }
        for table in report.tables {
            if table.keyed {
                out.append("\(table.name): \(table.equal) equal, \(table.changed) changed, \(table.onlyInArchive) only in the archive, \(table.onlyInDatabase) only in the database")
            } else {
                out.append("\(table.name) (no key): \(table.archiveRows) rows in the archive, \(table.databaseRows) in the database, \(table.digestsEqual ? "same rows" : "rows differ")")
            }
            for (label, keys) in [("changed", table.changedKeys), ("only in the archive", table.onlyInArchiveKeys), ("only in the database", table.onlyInDatabaseKeys)] where !keys.isEmpty {
                out.append("  \(label): " + keys.joined(separator: " "))
            }
        }
        out.append(report.differs ? "DIFFERENCES FOUND" : "no difference")
        return out + [String(format: "%.2f s", report.seconds)]
    }
}
