import ArgumentParser
import Display
import Foundation
import Logging
import PGSealKit
import Restore

struct RestoreCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "restore",
        abstract: "Load an archive's rows into a database, for real recovery.",
        discussion: """
            The seal is verified against --trusted-key first, and every byte read is held to \
            it: nothing is committed unless the object is, to its last byte, the sealed one. \
            All tables in one transaction. Writes only into empty tables unless --truncate; \
            creates missing tables (with their keys, added after the load) only with \
            --create-tables. Each table's rows are checked against the archive's manifest (row \
            count and digest) before the transaction commits; on any difference nothing is kept.
            With --until, the archive is a base of change segments (pgseal follow): its chain's \
            segments are checked (seal, base, previous segment, WAL range) and replayed in the same \
            transaction, so that the tables end exactly as they were committed at that point.
            Exit codes: 0 restored; 1 the archive is damaged (nothing committed); 2 could not restore.

            Example:
              pgseal restore X.tar.zst.age --db postgres://admin@db/kessan -i age-identity.txt --tables users,user_profiles
              pgseal restore BASE.tar.zst.age --until 2026-12-04T17:59:00Z --db postgres://admin@db/scratch --create-tables -i age-identity.txt
            """)

    @OptionGroup var target: ArchiveArgument

    @Option(name: .long, help: ArgumentHelp("The target database (libpq URL).", valueName: "url"))
    var db: String

    @OptionGroup var identities: IdentityOptions

    @Option(name: .long, parsing: .upToNextOption, help: ArgumentHelp("Only these tables (schema.table or table; comma-separated or repeated).", valueName: "tables"))
    var tables: [String] = []

    @Flag(name: .long, help: "Create tables that do not exist, with the archive's column types and keys.")
    var createTables = false

    @Flag(name: .long, help: "Replace the rows of non-empty tables (TRUNCATE in the same transaction).")
    var truncate = false

    @Option(name: .long, help: ArgumentHelp("Also replay the archive's change segments (pgseal follow) up to this point: an LSN (16/B374D848), an RFC 3339 time, or latest. The archive is then their base.", valueName: "point"))
    var until: String?

    @OptionGroup(title: "Output") var output: OutputOptions

    @OptionGroup(title: "Trust")
    var trust: TrustOptions

    @OptionGroup var unsigned: UnsignedOption

    @OptionGroup var limits: LimitOptions

    @OptionGroup(title: "S3")
    var s3: S3Options

    @OptionGroup var global: GlobalOptions

    func run() throws {
        let context = try CommandContext(global, s3: s3)
        let keys = try identities.keyring()
        let policy = try trust.policy(environment: context.environment, allowUnsigned: unsigned.insecureUnsigned)
        var request = RestoreRequest(archive: try target.location(policy: policy, context: context), databaseURL: db, keys: keys,
                                     tables: tables.flatMap { $0.split(separator: ",").map(String.init) }, policy: policy)
        request.limits = limits.limits
        request.createTables = createTables
        request.truncate = truncate
        request.storeSettings = context.storeSettings
        if let until {
            guard let point = ReplayTarget(parsing: until) else {
                throw ValidationError("--until \(until.debugDescription): give an LSN (16/B374D848), an RFC 3339 time (2026-12-04T18:00:00Z) or latest")
            }
            request.until = point
        }
        let result = try PGSeal.restore(request) { HumanOutput.err($0) }
        for note in result.notRecreated { HumanOutput.err("note: \(note)") }
        let rows = result.tables.map(\.rows).saturatingSum()
        var lines = ["restored \(Format.plural(rows, "row")) in \(Format.plural(result.tables.count, "table")) into \(result.database) in \(Format.seconds(result.seconds))"]
        if let replay = result.replay {
            lines.append("replayed \(Format.plural(replay.segments, "segment")), \(Format.plural(replay.transactions, "transaction")), \(Format.plural(replay.changes, "change"))\(replay.lastCommit.map { "; last commit \($0) at \(replay.lastLSN ?? "")" } ?? "")")
        }
        try output.emit(result, human: lines)
    }
}
