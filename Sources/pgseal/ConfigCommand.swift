import ArgumentParser
import DatabaseCatalog
import Export
import Foundation
import PGSealKit
import Postgres
import Settings

struct ConfigCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "config",
        abstract: "Work with the configuration file.",
        subcommands: [ConfigInitCommand.self, ConfigCheckCommand.self])
}

struct ConfigInitCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "init",
        abstract: "Write a first profile from the database's catalog: its tables, keys, and secret-looking columns left out.",
        discussion: """
            Every table of the schema (partitioned tables as one), keyed by its primary key; a \
            table without one gets `key: []` (compared as a multiset) and a comment. Columns whose \
            names look secret (password, secret, token, api_key, private_key; the words mfa, otp, \
            totp, salt, pin) are \
            left out under exclude_columns and named on stderr: read the file before the first \
            export. Writes to stdout, or to --out (never over an existing file).

            Example:
              pgseal config init --db postgres://export@db/kessan --out /etc/pgseal/pgseal.yaml
              pgseal config check --config /etc/pgseal/pgseal.yaml
            """)

    @Option(name: .long, help: ArgumentHelp("libpq connection URL or string; default: PGSEAL_DB, then the PG* environment.", valueName: "url"))
    var db: String?

    @Option(name: .long, help: ArgumentHelp("The schema whose tables are listed (default public).", valueName: "schema"))
    var schema = "public"

    @Option(name: .long, help: ArgumentHelp("The profile's name (default: the database's name).", valueName: "name"))
    var profile: String?

    @Option(name: .shortAndLong, help: ArgumentHelp("Write the file here instead of stdout; an existing file is never replaced.", valueName: "file"))
    var out: String?

    @OptionGroup var global: GlobalOptions

    func run() throws {
        let context = try CommandContext(global, s3: nil)
        let connection = try PostgresConnection(conninfo: db ?? context.variable("PGSEAL_DB") ?? "")
        let name = try profile ?? {
            let database = try connection.execute("SELECT current_database()").scalar ?? ""
            return (try? ArchiveNames.checkProfile(database)) != nil ? database : "tables"
        }()
        try ArchiveNames.checkProfile(name)
        let draft = try ProfileDraft.read(connection, schema: schema, profile: name)
        guard !draft.tables.isEmpty else { throw ValidationError("schema \(schema.debugDescription) has no tables") }
        if let out {
            guard !FileManager.default.fileExists(atPath: out) else { throw ValidationError("\(out) exists: pgseal config init never replaces a file") }
            try draft.yaml.write(toFile: out, atomically: true, encoding: .utf8)
        } else {
            print(draft.yaml, terminator: "")
        }
        let secrets = draft.tables.flatMap { table in table.secretLooking.map { table.name + "." + $0 } }
        let keyless = draft.tables.filter { !$0.hasPrimaryKey }.map(\.name)
        HumanOutput.err(["profile \(name): \(draft.tables.count) table\(draft.tables.count == 1 ? "" : "s") of schema \(schema)"]
            + (secrets.isEmpty ? [] : ["left out, as their names look secret: \(secrets.joined(separator: ", "))"])
            + (keyless.isEmpty ? [] : ["without a primary key (compared as multisets): \(keyless.joined(separator: ", "))"]))
    }
}

struct ConfigCheckCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check",
        abstract: "Validate a configuration file and print the effective settings, secrets masked.",
        discussion: """
            Applies the same layers as export (file < PGSEAL_… environment) and the same checks \
            that need no database: profiles, columns, keys, compression, chunk size, jobs, \
            recipients, signing key. Exit 0 valid, 2 invalid (the message says what to fix).

            Example:
              pgseal config check --config /etc/pgseal/pgseal.yaml
            """)

    @Option(name: .long, help: ArgumentHelp("The configuration file (default: PGSEAL_CONFIG).", valueName: "file"))
    var config: String?

    @OptionGroup var global: GlobalOptions

    func run() throws {
        let context = try CommandContext(global, s3: nil)
        guard config != nil || context.variable("PGSEAL_CONFIG") != nil else {
            throw ValidationError("no configuration file to check: give --config FILE (or PGSEAL_CONFIG)")
        }
        var flags = ExportFlags()
        flags.configFile = config
        let settings = try ExportSettings.resolve(flags: flags, environment: context.environment)
        for warning in settings.warnings { print("warning: \(warning)") }
        var lines = [
            "database     \(settings.database.isEmpty ? "(from PG* environment variables)" : PostgresConnection.describeTarget(settings.database))",
            "destination  \(settings.destination)",
            "profile      \(settings.profile.name): " + settings.profile.tables.map(\.qualifiedName).joined(separator: ", "),
            "compression  \(settings.compression)",
            "chunk size   \(settings.chunkSize >> 20) MiB",
            "jobs         \(settings.jobs)",
            "encryption   " + (settings.recipients.isEmpty ? "none" : settings.recipients.map(\.description).joined(separator: ", ")),
            "signing key  " + (settings.signingKey.map { "\($0.publicKey.fingerprint) (\($0.comment))" } ?? "none"),
        ]
        let store = settings.storeSettings
        if let endpoint = store.endpoint { lines.append("s3 endpoint  \(endpoint)") }
        if let region = store.region { lines.append("s3 region    \(region)") }
        if let caBundle = store.caBundle { lines.append("ca bundle    \(caBundle)") }
        var operationsFlags = OperationsSettings.Flags()
        operationsFlags.configFile = config
        let operations = try OperationsSettings.resolve(flags: operationsFlags, environment: context.environment)
        lines.append("retention    " + (operations.keepDays.map { "\($0) days, " } ?? "no keep_days, ") + "the newest \(operations.keepLast) kept; stale uploads after \(operations.staleUploadHours) h")
        lines.append("monitor      max age " + (operations.maxAge ?? "(none: give max_age or --max-age)")
                     + "; trusted keys " + (operations.trustedKeys.isEmpty ? "(none)" : operations.trustedKeys.joined(separator: ", ")))
        var alerts = [String]()
        if operations.alertWebhook != nil { alerts.append("webhook ****") }
        if let topic = operations.alertSNSTopic { alerts.append("SNS \(topic)") }
        if let file = operations.metricsFile { alerts.append("metrics \(file)") }
        lines.append("alerts       " + (alerts.isEmpty ? "none" : alerts.joined(separator: "; ")))
        print(lines.joined(separator: "\n"))
    }
}
