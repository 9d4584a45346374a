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
            Exit codes: 0 restored; 1 the archive is damaged (nothing committed); 2 could not restore.

            Example:
              pgseal restore X.tar.zst.age --db postgres://admin@db/kessan -i age-identity.txt --tables users,user_profiles
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
        let result = try PGSeal.restore(request) { HumanOutput.err($0) }
        for note in result.notRecreated { HumanOutput.err("note: \(note)") }
        let rows = result.tables.map(\.rows).saturatingSum()
        try output.emit(result, human: ["restored \(Format.plural(rows, "row")) in \(Format.plural(result.tables.count, "table")) into \(result.database) in \(Format.seconds(result.seconds))"])
    }
}
