import ArgumentParser
import Display
import Foundation
import PGSealKit
import Restore

struct RecoverCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "recover",
        abstract: "Put selected rows of an archive back into a live database, by a stated conflict policy.",
        discussion: """
            For the rows a bug deleted or overwrote, while the database stays online: restore \\
            loads whole tables into empty ones; recover takes the rows of one table that you \\
            select — by key (--key, as pgseal diff prints keys) or by column values \\
            (--where COLUMN=VALUE, compared by pgseal with the archive's own values; no SQL \\
            from the command line) — and writes them in one transaction: a row missing from \\
            the table is inserted; a row whose key exists with other values is left alone \\
            (--on-conflict skip), overwritten (update) or stops everything (fail). Rows already \\
            equal are untouched. The table's constraints, foreign keys and triggers apply as \\
            for any client; what the database refuses is named and nothing is written. Writers \\
            of the table wait for the few statements of the write, not for the archive's \\
            reading. --dry-run says, key by key, what would be inserted, updated or left alone.
            Exit codes: 0 done (or dry run); 1 the archive is bad; 2 could not recover \\
            (a conflict under fail, a refusal by the database, nothing selected).

            Examples:
              pgseal recover /var/backups/pgseal --latest --profile kessan-user-data --db postgres://oncall@db/kessan \\
                --table user_watchlist --where user_id=0b6c… --on-conflict update --dry-run \\
                --trusted-key allowed_signers -i age-identity.txt
              pgseal recover A.tar.zst.age --db "$DB" --table users --key '["9d3a…"]' --on-conflict fail \\
                --trusted-key allowed_signers -i age-identity.txt
            """)

    @OptionGroup var target: ArchiveArgument

    @Option(name: .long, help: ArgumentHelp("The live database: a libpq URL or connection string.", valueName: "url"))
    var db: String

    @Option(name: .long, help: ArgumentHelp("The table whose rows to put back (schema.table, or table for public).", valueName: "table"))
    var table: String

    @Option(name: .long, help: ArgumentHelp("A row's key as pgseal diff prints it ([\"…\"], [1,\"AAPL\"]); a bare value for a one-column key (repeatable).", valueName: "key"))
    var key: [String] = []

    @Option(name: .long, help: ArgumentHelp("Rows whose COLUMN has this value, as PostgreSQL prints it (repeatable: all must hold).", valueName: "column=value"))
    var `where`: [String] = []

    @Option(name: .long, help: ArgumentHelp("What to do with a row whose key exists with other values: skip, update or fail.", valueName: "policy"))
    var onConflict: String

    @Flag(name: .long, help: "Say what would be done, key by key; write nothing.")
    var dryRun = false

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
        guard !key.isEmpty || !`where`.isEmpty else { throw ValidationError("select rows: give --key or --where (recover never takes a whole table; restore does)") }
        for equality in `where` where !equality.contains("=") { throw ValidationError("--where takes COLUMN=VALUE, not \(equality)") }
    }

    func run() throws {
        let context = try CommandContext(global, s3: s3)
        let policy = try trust.policy(environment: context.environment)
        let keys = try identities.keyring()
        var request = RecoveryRequest(archive: try target.location(policy: policy, context: context), databaseURL: db, table: table,
                                      onConflict: RecoveryRequest.Conflict(rawValue: onConflict) ?? .fail, policy: policy, keys: keys)
        request.rowKeys = key
        request.storeSettings = context.storeSettings
        request.equalities = `where`.map { equality in
            let parts = equality.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            return (String(parts[0]), parts.count > 1 ? String(parts[1]) : "")
        }
        request.dryRun = dryRun
        request.limits = limits.limits
        let result = try PGSeal.recover(request)
        try output.emit(result, human: RecoverySummary.lines(result))
    }
}

enum RecoverySummary {
    static func lines(_ result: RecoveryResult) -> [String] {
        let verb = result.dryRun ? "would recover" : "recovered"
        var lines = TextTable.lines(result.rows.map { [$0.action, $0.key] })
        if result.rows.count < result.selected { lines.append("… and \(result.selected - result.rows.count) more (see --json)") }
        lines.append("\(verb) \(Format.plural(result.selected, "row")) of \(result.table) into \(result.database): "
            + "\(result.inserted) inserted, \(result.updated) updated, \(result.unchanged) unchanged, \(result.leftAlone) left alone"
            + (result.dryRun ? " (dry run: nothing written)" : ""))
        return lines
    }
}
