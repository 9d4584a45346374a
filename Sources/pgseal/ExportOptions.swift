import ArgumentParser
import Export
import Foundation
import PGSealKit

/// What every command that writes archives of a profile's tables spells the same way — export
/// and follow: the database, the tables, the store, encryption, the seal, compression.
struct ExportOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("YAML config file with settings and profiles.", valueName: "file"))
    var config: String?

    @Option(name: .long, help: ArgumentHelp("Profile to export: built in (kessan-user-data) or from the config file (default: PGSEAL_PROFILE, `profile:` in the config file). Without it, --table.", valueName: "name"))
    var profile: String?

    @Option(name: .long, help: ArgumentHelp("Export this table (schema.table, or table for public), every column, keyed by its primary key; repeatable. Instead of a profile.", valueName: "table"))
    var table: [String] = []

    @Option(name: .long, help: ArgumentHelp("With --table: leave this column out (repeatable), e.g. users.password_hash.", valueName: "table.column"))
    var excludeColumn: [String] = []

    @Option(name: .long, help: ArgumentHelp("With --table: the archive's name (default adhoc), which names its folder in the store.", valueName: "name"))
    var name: String?

    @Option(name: .long, help: ArgumentHelp("libpq connection URL or string; default: the PG* environment.", valueName: "url"))
    var db: String?

    @Option(name: .long, help: ArgumentHelp("Destination store: a local directory or s3://bucket/prefix/.", valueName: "store"))
    var to: String?

    @OptionGroup(title: "S3")
    var s3: S3Options

    @Option(name: [.customShort("r"), .long], help: ArgumentHelp("Encrypt to this age recipient (repeatable). The export host needs no secret key.", valueName: "age1…"))
    var recipient: [String] = []

    @Option(name: [.customShort("R"), .long], help: ArgumentHelp("File of age recipients, one per line.", valueName: "file"))
    var recipientsFile: String?

    @Flag(name: .long, help: "Write the archive unencrypted (.tar.zst): only by explicit choice.")
    var noEncrypt = false

    @Option(name: .long, help: ArgumentHelp("OpenSSH Ed25519 private key that signs the seal (pgseal keygen makes one).", valueName: "file"))
    var signKey: String?

    @Flag(name: .long, help: "Write no seal: list, check and verify will not accept the archive.")
    var noSign = false

    @Option(name: .long, help: ArgumentHelp("zstd, gzip or none (default zstd).", valueName: "name"))
    var compression: String?

    @Option(name: .long, help: ArgumentHelp("Compression level (zstd default 3, gzip 6).", valueName: "n"))
    var compressionLevel: Int?

    @Option(name: .long, help: ArgumentHelp("zstd worker threads (0 = compress on the writer thread).", valueName: "n"))
    var zstdThreads: Int?

    @Option(name: .long, help: ArgumentHelp("Largest chunk of JSON lines, in MiB (default 2).", valueName: "mib"))
    var chunkSize: Int?

    @Option(name: [.customShort("j"), .long], help: ArgumentHelp("Tables read in parallel, each on its own connection in the same snapshot (default 1).", valueName: "n"))
    var jobs: Int?

    @Option(name: .long, help: ArgumentHelp("The longest the export waits for a lock, and lets another session wait for a lock it holds (a DDL statement, which the application's queries queue behind), before it gives way with exit 2 (default 10s).", valueName: "duration"))
    var lockWaitTimeout: String?

    @Option(name: .long, help: ArgumentHelp("No data from the database for this long is a failure, exit 2 (default 30m): a network that drops packets without closing the connection.", valueName: "duration"))
    var stallTimeout: String?

    /// The flags as given (nil where not).
    var flags: ExportFlags {
        var flags = ExportFlags()
        flags.recipients = recipient
        flags.recipientsFile = recipientsFile
        flags.signKey = signKey
        flags.noEncrypt = noEncrypt
        flags.noSign = noSign
        flags.s3Endpoint = s3.endpointUrl
        flags.s3Region = s3.region
        flags.caBundle = s3.caBundle
        flags.configFile = config
        flags.database = db
        flags.destination = to
        flags.profile = profile
        flags.tables = table
        flags.excludeColumns = excludeColumn
        flags.name = name
        flags.compression = compression
        flags.compressionLevel = compressionLevel
        flags.zstdThreads = zstdThreads
        flags.chunkSizeMiB = chunkSize
        flags.jobs = jobs
        return flags
    }

    /// The settings from defaults < config file < environment < `flags`; warnings logged.
    func resolve(flags: ExportFlags, context: CommandContext) throws -> ExportSettings {
        var settings = try ExportSettings.resolve(flags: flags, environment: context.environment)
        for warning in settings.warnings { context.logger.warning("\(warning)") }
        if let lockWaitTimeout { settings.lockWaitTimeout = try ReportCommand.duration(lockWaitTimeout, option: "--lock-wait-timeout") }
        if let stallTimeout { settings.stallTimeout = try ReportCommand.duration(stallTimeout, option: "--stall-timeout") }
        return settings
    }
}
