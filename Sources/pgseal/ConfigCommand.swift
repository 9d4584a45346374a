import ArgumentParser
import Export
import Foundation
import Postgres

struct ConfigCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "config",
        abstract: "Work with the configuration file.",
        subcommands: [ConfigCheckCommand.self])
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
        _ = global.bootstrapLogging()
        guard config != nil || !(ProcessInfo.processInfo.environment["PGSEAL_CONFIG"] ?? "").isEmpty else {
            throw ValidationError("no configuration file to check: give --config FILE (or PGSEAL_CONFIG)")
        }
        var flags = ExportFlags()
        flags.configFile = config
        let settings = try ExportSettings.resolve(flags: flags)
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
        if let endpoint = settings.s3Endpoint { lines.append("s3 endpoint  \(endpoint)") }
        if let region = settings.s3Region { lines.append("s3 region    \(region)") }
        if let caBundle = settings.caBundle { lines.append("ca bundle    \(caBundle)") }
        var operationsFlags = OperationsSettings.Flags()
        operationsFlags.configFile = config
        let operations = try OperationsSettings.resolve(flags: operationsFlags)
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
