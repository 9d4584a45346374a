import ArgumentParser
import Export
import Foundation
import PGSealKit

struct ExportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Export a profile's tables, in one snapshot, into a new archive.",
        discussion: """
            Prints the archive's path on stdout and nothing else there, so that scripts can \
            write A=$(pgseal export …); progress, logs and the summary go to stderr.

            Settings come from, weakest first: built-in defaults, the config file (--config or \
            PGSEAL_CONFIG), PGSEAL_… environment variables (PGSEAL_DB, PGSEAL_TO, PGSEAL_PROFILE, \
            PGSEAL_JOBS, PGSEAL_COMPRESSION, PGSEAL_COMPRESSION_LEVEL, PGSEAL_CHUNK_SIZE_MIB, PGSEAL_RECIPIENTS, \
            PGSEAL_RECIPIENTS_FILE, PGSEAL_SIGN_KEY, PGSEAL_S3_ENDPOINT, PGSEAL_S3_REGION), then flags. S3 \
            credentials come from the AWS environment variables or ~/.aws/credentials (AWS_PROFILE).
            The database URL also takes libpq's PG* variables, ~/.pgpass and service files.

            What to export: a profile (--profile; the built-in kessan-user-data, or one of the \
            config file), or tables named on the command line (--table, with --exclude-column \
            for secrets). There is no default: an export says what it exports.

            Examples:
              pgseal export --profile kessan-user-data --db postgres://export@db/kessan \\
                --to /var/backups/pgseal -R /etc/pgseal/recipients.txt --sign-key /etc/pgseal/signing-key
              pgseal export --table public.orders --table public.customers \\
                --exclude-column customers.password_hash --db "$DB" --to /var/backups/pgseal -R r.txt --sign-key k
            """)

    @OptionGroup var global: GlobalOptions

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

    @Option(name: .long, help: ArgumentHelp("Progress on stderr: auto (when it is a terminal), always, never.", valueName: "when"))
    var progress: String?

    @Option(name: .long, help: ArgumentHelp("The longest the export waits for a lock, and lets another session wait for a lock it holds (a DDL statement, which the application's queries queue behind), before it gives way with exit 2 (default 10s).", valueName: "duration"))
    var lockWaitTimeout: String?

    @Option(name: .long, help: ArgumentHelp("No data from the database for this long is a failure, exit 2 (default 30m): a network that drops packets without closing the connection.", valueName: "duration"))
    var stallTimeout: String?

    @OptionGroup(title: "Partitioned export") var partitioning: PartitionOptions

    @OptionGroup(title: "Output") var output: OutputOptions

    func run() async throws {
        let context = try CommandContext(global, s3: nil)
        let logger = context.logger
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
        flags.progress = progress
        if partitioning.partitionWorker {
            // The coordinator signs; a worker holds no signing key.
            flags.signKey = nil
            flags.noSign = true
        }
        var settings = try ExportSettings.resolve(flags: flags, environment: context.environment)
        for warning in settings.warnings { logger.warning("\(warning)") }
        if let lockWaitTimeout { settings.lockWaitTimeout = try ReportCommand.duration(lockWaitTimeout, option: "--lock-wait-timeout") }
        if let stallTimeout { settings.stallTimeout = try ReportCommand.duration(stallTimeout, option: "--stall-timeout") }
        if partitioning.partitionWorker || partitioning.partitions != nil {
            settings.partitionKey = try partitioning.partitionKey(environment: context.environment)
        }
        if partitioning.partitionWorker {
            settings.workerPart = try partitioning.workerPart(environment: context.environment)
            if let text = partitioning.planWait { settings.planWait = try ReportCommand.duration(text, option: "--plan-wait") }
        }
        let result: ExportResult
        if let parts = partitioning.partitions {
            var options = PartitionedExport.Options(parts: parts, concurrency: partitioning.workers ?? parts)
            if let text = partitioning.partitionTimeout { options.timeout = try ReportCommand.duration(text, option: "--partition-timeout") }
            let launcher = partitioning.externalWorkers ? nil : try localLauncher()
            result = try PGSeal.exportPartitioned(settings, options: options, launcher: launcher, logger: logger, cleanup: context.cleanup)
        } else if settings.workerPart != nil {
            switch Result(catching: { () throws(PGSealError) -> ExportResult in try PGSeal.export(settings, logger: logger, cleanup: context.cleanup) }) {
            case .success(let exported):
                result = exported
            case .failure(let error):
                // A part the plan dropped: nothing to do, which is no failure.
                guard case .partNotNeeded = error.underlying as? ExportError else { throw error }
                logger.notice("\(error.underlying)")
                return
            }
        } else {
            // A progress line is for a terminal; under --log-format json every stderr line is JSON.
            let showProgress = global.logFormat != "json" && (settings.progress == .always || (settings.progress == .auto && isatty(STDERR_FILENO) == 1))
            result = try PGSeal.export(settings, progress: showProgress ? TerminalProgress() : SilentProgress(), logger: logger, cleanup: context.cleanup)
        }

        try output.emitLocation(result, location: result.archive, summary: ExportSummary.lines(result), quiet: global.quiet)
    }

    /// Worker processes of this binary with this command's own settings, named option by option
    /// (never the coordinator's --report, --json or --partitions).
    private func localLauncher() throws -> ProcessPartLauncher {
        guard let executable = Bundle.main.executablePath else { throw ValidationError("cannot find this program's path to start its workers") }
        var common = ["export", "--partition-worker", "--progress", "never", "--log-format", global.logFormat]
        func pass(_ name: String, _ value: String?) { if let value { common += [name, value] } }
        pass("--config", config)
        pass("--profile", profile)
        for table in table { common += ["--table", table] }
        for column in excludeColumn { common += ["--exclude-column", column] }
        pass("--name", name)
        pass("--db", db)
        pass("--to", to)
        pass("--endpoint-url", s3.endpointUrl)
        pass("--region", s3.region)
        pass("--ca-bundle", s3.caBundle)
        for recipient in recipient { common += ["--recipient", recipient] }
        pass("--recipients-file", recipientsFile)
        if noEncrypt { common.append("--no-encrypt") }
        pass("--compression", compression)
        pass("--compression-level", compressionLevel.map(String.init))
        pass("--zstd-threads", zstdThreads.map(String.init))
        pass("--chunk-size", chunkSize.map(String.init))
        pass("--jobs", jobs.map(String.init))
        pass("--lock-wait-timeout", lockWaitTimeout)
        pass("--stall-timeout", stallTimeout)
        // A worker's own summary is the coordinator's to give; its warnings and errors still show.
        common += global.verbose > 0 ? Array(repeating: "-v", count: global.verbose) : ["-q"]
        let arguments = common
        return ProcessPartLauncher(executable: executable) { index in arguments + ["--part", String(index + 1)] }
    }
}
