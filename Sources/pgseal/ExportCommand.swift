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

    @OptionGroup var options: ExportOptions

    @Option(name: .long, help: ArgumentHelp("Progress on stderr: auto (when it is a terminal), always, never.", valueName: "when"))
    var progress: String?

    @Flag(name: .long, help: "Take the snapshot through a temporary logical replication slot, so that the archive's WAL position is exact: a chain of change segments (pgseal follow) that covers it can then be proven against it (verify --until-archive) and replayed from it (restore --until). Needs wal_level = logical, the REPLICATION privilege and a free slot.")
    var exactPosition = false

    @OptionGroup(title: "Partitioned export") var partitioning: PartitionOptions

    @OptionGroup(title: "Output") var output: OutputOptions

    func run() async throws {
        let context = try CommandContext(global, s3: nil)
        let logger = context.logger
        var flags = options.flags
        flags.progress = progress
        if partitioning.partitionWorker {
            // The coordinator signs; a worker holds no signing key.
            flags.signKey = nil
            flags.noSign = true
        }
        var settings = try options.resolve(flags: flags, context: context)
        settings.exactPosition = exactPosition
        if partitioning.partitionWorker || partitioning.partitions != nil {
            settings.partitionKey = try partitioning.partitionKey(environment: context.environment)
        }
        if partitioning.partitionWorker {
            settings.workerPart = try partitioning.workerPart(environment: context.environment)
            if let text = partitioning.planWait { settings.planWait = try ReportCommand.duration(text, option: "--plan-wait") }
        }
        let result: ExportResult
        if let parts = partitioning.partitions {
            var partitionOptions = PartitionedExport.Options(parts: parts, concurrency: partitioning.workers ?? parts)
            if let text = partitioning.partitionTimeout { partitionOptions.timeout = try ReportCommand.duration(text, option: "--partition-timeout") }
            let launcher = partitioning.externalWorkers ? nil : try localLauncher()
            result = try PGSeal.exportPartitioned(settings, options: partitionOptions, launcher: launcher, logger: logger, cleanup: context.cleanup)
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
        pass("--config", options.config)
        pass("--profile", options.profile)
        for table in options.table { common += ["--table", table] }
        for column in options.excludeColumn { common += ["--exclude-column", column] }
        pass("--name", options.name)
        pass("--db", options.db)
        pass("--to", options.to)
        pass("--endpoint-url", options.s3.endpointUrl)
        pass("--region", options.s3.region)
        pass("--ca-bundle", options.s3.caBundle)
        for recipient in options.recipient { common += ["--recipient", recipient] }
        pass("--recipients-file", options.recipientsFile)
        if options.noEncrypt { common.append("--no-encrypt") }
        pass("--compression", options.compression)
        pass("--compression-level", options.compressionLevel.map(String.init))
        pass("--zstd-threads", options.zstdThreads.map(String.init))
        pass("--chunk-size", options.chunkSize.map(String.init))
        pass("--jobs", options.jobs.map(String.init))
        pass("--lock-wait-timeout", options.lockWaitTimeout)
        pass("--stall-timeout", options.stallTimeout)
        // A worker's own summary is the coordinator's to give; its warnings and errors still show.
        common += global.verbose > 0 ? Array(repeating: "-v", count: global.verbose) : ["-q"]
        let arguments = common
        return ProcessPartLauncher(executable: executable) { index in arguments + ["--part", String(index + 1)] }
    }
}
