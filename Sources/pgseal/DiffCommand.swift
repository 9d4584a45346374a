import ArgumentParser
import Foundation
import Logging
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
            Exit codes: 0 no difference; 1 differences found; 2 could not compare.

            Example:
              pgseal diff X.tar.zst.age --db postgres://oncall@db/kessan -i age-identity.txt
            """)

    @OptionGroup var target: ArchiveArgument

    @Option(name: .long, help: ArgumentHelp("The database to compare with (libpq URL).", valueName: "url"))
    var db: String

    @OptionGroup var identities: IdentityOptions

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
        let result = try PGSeal.diff(request)
        try output.emit(result, human: DiffSummary.lines(result))
        if result.differs { throw CommandVerdict.bad(nil) }
    }
}

enum DiffSummary {
    static func lines(_ report: DiffReport) -> [String] {
        var out = ["archive \(report.archive)", "database \(report.database) (snapshot \(report.snapshot))"]
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
