import ArgumentParser
import Follow
import Foundation
import PGSealKit

struct FollowCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "follow",
        abstract: "Seal a profile's committed changes, every minute, into change segments (continuous archiving).",
        discussion: """
            Reads the profile's changes through PostgreSQL's logical replication (a slot of the \
            pgoutput plugin and a publication of the profile's tables, both made when missing) \
            and seals them into change segments beside the profile's archives: tar, compressed, \
            encrypted and signed as archives are (docs/FORMAT.md §11). The first run takes a base \
            export in the slot's own snapshot; every segment then holds the whole transactions \
            committed after the one before it. The slot's position moves only past sealed segments: \
            a follower killed at any moment resumes where the store says, losing nothing and \
            writing nothing twice.

            Runs as a service (SIGTERM seals the open segment and stops) or, with \
            --until-caught-up, once: until every transaction committed before it started is sealed \
            (for cron or a Kubernetes CronJob).

            The server needs wal_level = logical, the role REPLICATION, a free slot, and every \
            table a key (a primary key or REPLICA IDENTITY); a table with a profile filter needs \
            REPLICA IDENTITY FULL. Each missing piece is named with what to run. See \
            docs/OPERATIONS.md, "Following".

            Examples:
              pgseal follow --profile kessan-user-data --db "$DB" --to s3://backups/pgseal/ \\
                -R /etc/pgseal/recipients.txt --sign-key /etc/pgseal/signing-key
              pgseal follow --until-caught-up --config /etc/pgseal/pgseal.yaml
            """)

    @OptionGroup var global: GlobalOptions

    @OptionGroup var options: ExportOptions

    @Option(name: .long, help: ArgumentHelp("Seal a segment once it is this old (default 1m).", valueName: "duration"))
    var segmentEvery: String?

    @Option(name: .long, help: ArgumentHelp("… or once it holds this many MiB of change lines (default 64).", valueName: "mib"))
    var segmentSize: Int?

    @Flag(name: .long, help: "Stop once every transaction committed before the start is sealed.")
    var untilCaughtUp = false

    @Option(name: .long, help: ArgumentHelp("Replication slot (default pgseal_<profile>).", valueName: "name"))
    var slot: String?

    @Option(name: .long, help: ArgumentHelp("Publication of the profile's tables (default pgseal_<profile>).", valueName: "name"))
    var publication: String?

    @Flag(name: .long, help: "Drop the slot and start a new chain with a new base export.")
    var newBase = false

    @Option(name: .long, help: ArgumentHelp("With no changes, still seal an empty segment this often (default 10m), so that check --max-lag tells a quiet database from a stopped follower.", valueName: "duration"))
    var idleSealEvery: String?

    @Option(name: .long, help: ArgumentHelp("Write Prometheus metrics to this file every status interval while following (recovery point, segments, the slot's retained WAL, wal_status, safe_wal_size), for node_exporter's textfile collector.", valueName: "file"))
    var metricsFile: String?

    @Option(name: .long, help: ArgumentHelp("Hold up to this much of one transaction's changes in memory, then spool them all to a temporary file in TMPDIR (default 8).", valueName: "MiB"))
    var spoolMemory: Int?

    @Option(name: .long, help: ArgumentHelp("Stop on a transaction with more changes than this, rather than fill TMPDIR (default 65536: 64 GiB).", valueName: "MiB"))
    var maxTransaction: Int?

    @Option(name: .long, help: ArgumentHelp("Serve the same metrics over HTTP at GET /metrics for Prometheus to scrape: 127.0.0.1:9187, or :9187 for every interface.", valueName: "host:port"))
    var metricsListen: String?

    @OptionGroup(title: "Output") var output: OutputOptions

    func run() async throws {
        let context = try CommandContext(global, s3: nil)
        var settings = FollowSettings(export: try options.resolve(flags: options.flags, context: context))
        if let slot { settings.slot = slot }
        if let publication { settings.publication = publication }
        if let segmentEvery { settings.segmentInterval = try ReportCommand.duration(segmentEvery, option: "--segment-every") }
        if let segmentSize {
            guard (1...4096).contains(segmentSize) else { throw ValidationError("--segment-size \(segmentSize): give between 1 and 4096 MiB") }
            settings.segmentMaxBytes = segmentSize << 20
        }
        if let idleSealEvery { settings.idleSealInterval = try ReportCommand.duration(idleSealEvery, option: "--idle-seal-every") }
        if let spoolMemory {
            guard (1...4096).contains(spoolMemory) else { throw ValidationError("--spool-memory \(spoolMemory): give between 1 and 4096 MiB") }
            settings.spoolMemoryBytes = spoolMemory << 20
        }
        if let maxTransaction {
            guard (1...(1 << 24)).contains(maxTransaction) else { throw ValidationError("--max-transaction \(maxTransaction): give between 1 and 16777216 MiB") }
            settings.maxTransactionBytes = Int64(maxTransaction) << 20
        }
        settings.untilCaughtUp = untilCaughtUp
        settings.newBase = newBase
        SignalHandlers.stopGracefully = true
        let metrics = FollowMetrics(file: metricsFile)
        let endpoint = try metricsListen.map { text in
            let (host, port) = try Self.listenAddress(text)
            let endpoint = try MetricsEndpoint(host: host, port: port, metrics: metrics)
            context.logger.notice("serving metrics at http://\(host):\(endpoint.port)/metrics")
            return endpoint
        }
        defer { endpoint?.close() }
        let result = try PGSeal.follow(settings, stop: SignalHandlers.stop, logger: context.logger, cleanup: context.cleanup, metrics: metrics)
        try output.emit(result, human: Self.lines(result))
    }

    /// `HOST:PORT`, `[v6]:PORT` or `:PORT` (every interface).
    static func listenAddress(_ text: String) throws -> (host: String, port: Int) {
        guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]), (0...65_535).contains(port) else {
            throw ValidationError("--metrics-listen takes HOST:PORT (127.0.0.1:9187, or :9187 for every interface), not \(text)")
        }
        var host = String(text[..<colon])
        if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        return (host.isEmpty ? "0.0.0.0" : host, port)
    }

    static func lines(_ result: FollowResult) -> [String] {
        var lines: [String] = []
        if let base = result.newBase { lines.append("new base: \(base)") }
        for text in result.breaks { lines.append("BREAK: \(text)") }
        let changes = result.segments.map(\.changes).saturatingSum()
        lines.append("\(result.segments.count) segment(s) sealed, \(changes) change(s); sealed up to \(result.sealedLSN)\(result.caughtUp ? " (caught up)" : "")")
        return lines
    }
}
