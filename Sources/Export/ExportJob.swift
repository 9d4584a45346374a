import ArchiveFormat
import ByteStreams
import Cryptography
import DatabaseCatalog
import Display
import Foundation
import Logging
import ObjectStore
import Postgres

/// What an export produced.
public struct ExportResult: Sendable, Codable {
    public struct TableSummary: Sendable, Codable {
        public let table: String
        public let rows: Int
        public let bytes: Int64
        public let chunks: Int
        public let digest: String
        public let seconds: Double
    }

    public let archive: String
    public let key: String
    public let profile: String
    public let createdAt: String
    public let encrypted: Bool
    /// The seal's signer (key fingerprint), nil for an unsigned archive.
    public let signer: String?
    public let objectBytes: Int64
    public let objectSHA256: String
    public let manifestSHA256: String
    public let snapshot: String
    public let walLSN: String
    public let compression: String
    public let seconds: Double
    public let tables: [TableSummary]
    /// For a partitioned archive: how many parts (docs/FORMAT.md §10); nil for one object.
    public var parts: Int? = nil

    enum CodingKeys: String, CodingKey {
        case archive, key, profile, snapshot, compression, seconds, tables, encrypted, signer, parts
        case createdAt = "created_at"
        case objectBytes = "object_bytes"
        case objectSHA256 = "object_sha256"
        case manifestSHA256 = "manifest_sha256"
        case walLSN = "wal_lsn"
    }
}

/// The export: one snapshot, a worker per table (up to `jobs`), one archive written as a stream
/// and published only when complete, then its `.sha256` sidecar.
package final class ExportJob {
    public static let toolVersion = PGSealVersion.current

    private let settings: ExportSettings
    private let logger: Logger
    private let progress: ExportProgress
    /// Where the export registers what an interruption must undo; nil: nothing is registered.
    let cleanup: CleanupRegistry?

    public init(settings: ExportSettings, logger: Logger, progress: ExportProgress, cleanup: CleanupRegistry? = nil) {
        self.cleanup = cleanup
        self.settings = settings
        self.logger = logger
        self.progress = progress
    }

    public func run() throws -> ExportResult {
        if let part = settings.workerPart { return try PartWorker(settings: settings, logger: logger, job: self).run(part: part) }
        let started = Date()
        try ArchiveNames.checkProfile(settings.profile.name)
        let store = try openDestination()
        let coordinator: PostgresConnection
        let source: Manifest.Source
        // Held to the function's end: the exact snapshot lives as long as the session that made it.
        let exact = settings.baseSnapshot == nil && settings.exactPosition ? try Self.exactSnapshot(settings.database) : nil
        if let base = settings.baseSnapshot ?? exact.map({ BaseSnapshot(snapshot: $0.snapshot, walLSN: $0.walLSN) }) {
            coordinator = try SnapshotSession.join(base.snapshot, conninfo: settings.database, lockTimeout: settings.lockWaitTimeout)
            source = try Self.describe(coordinator, snapshot: base.snapshot, walLSN: base.walLSN)
        } else {
            coordinator = try PostgresConnection(conninfo: settings.database)
            try SnapshotSession.configure(coordinator, lockTimeout: settings.lockWaitTimeout)
            try coordinator.run(script: "BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            source = try Self.exportSnapshot(on: coordinator)
        }
        logger.info("snapshot \(source.snapshot) of \(coordinator.target) at WAL \(source.walLSN)")
        try Self.noteStandby(coordinator, logger: logger)
        let plans = try resolvePlans(on: coordinator)
        let naming = ObjectNaming(profile: settings.profile.name, time: started)
        let written = try writeArchive(store: store, coordinator: coordinator, source: source, plans: plans, naming: naming,
                                       key: nil, signed: settings.signingKey != nil, started: started)
        do {
            let archive = written.archive
            let encrypted = archive.encrypted
            let (objectSize, objectDigest) = try archive.finish(signingKey: settings.signingKey) { size, digest in
                var seal = SealDocument(
                    object: archive.basename, size: size, sha256: digest.hex, manifestSHA256: written.manifestDigest.hex,
                    createdAt: naming.createdAt, profile: settings.profile.name,
                    encryption: encrypted ? "age-x25519" : "none", recipients: settings.recipients.map(\.description),
                    compression: settings.compression.name, snapshot: source.snapshot, walLSN: source.walLSN,
                    tables: written.sealTables, signer: settings.signingKey?.publicKey.fingerprint ?? "", tool: "pgseal \(Self.toolVersion)")
                seal.tablesSHA256 = written.tablesSHA256
                seal.walLSNExact = source.walLSNExact
                return seal
            }
            progress.finished()
            withExtendedLifetime(exact) {}
            return written.result(store: store, naming: naming, source: source, settings: settings, size: objectSize, sha256: objectDigest.hex,
                                  seconds: Date().timeIntervalSince(started))
        } catch {
            written.archive.abort()
            progress.finished()
            throw error
        }
    }

    /// The destination store, with what an earlier, killed export of this profile left behind (an
    /// incomplete multipart upload, a hidden partial file) removed once older than the stale age.
    func openDestination() throws -> ObjectStore {
        let store = try openStore(settings.destination, settings: settings.storeSettings, create: true, cleanup: cleanup)
        let stale = try store.removeStaleUploads(under: settings.profile.name + "/", olderThan: settings.staleUploadAge)
        if stale > 0 { logger.notice("removed \(stale) incomplete upload(s) of earlier exports under \(store.location(of: settings.profile.name + "/"))") }
        return store
    }

    /// The profile's tables checked against the database, in profile order.
    func resolvePlans(on connection: PostgresConnection, selections: [TableSelection]? = nil) throws -> [TablePlan] {
        let plans = try (selections ?? settings.profile.tables).map { try TablePlan.resolve($0, on: connection) }
        for plan in plans { try ArchiveNames.checkTable(schema: plan.schema, name: plan.name) }
        try ArchiveNames.checkDistinct(plans.map(\.qualifiedName))
        return plans
    }

    /// An archive object written to its end but not yet published.
    struct WrittenArchive {
        let archive: SealedArchiveWriter
        let totals: [WrittenTable]
        let plans: [TablePlan]
        let manifestDigest: Digest
        let tablesSHA256: String

        var sealTables: [SealDocument.Table] {
            zip(plans, totals).map { SealDocument.Table(name: $0.qualifiedName, rows: $1.totals.rows, digest: $1.totals.digest.hex) }
        }

        func result(store: ObjectStore, naming: ObjectNaming, source: Manifest.Source, settings: ExportSettings,
                    size: Int64, sha256: String, seconds: Double) -> ExportResult {
            ExportResult(
                archive: store.location(of: archive.key), key: archive.key, profile: settings.profile.name, createdAt: naming.createdAt,
                encrypted: archive.encrypted, signer: settings.signingKey?.publicKey.fingerprint,
                objectBytes: size, objectSHA256: sha256, manifestSHA256: manifestDigest.hex,
                snapshot: source.snapshot, walLSN: source.walLSN, compression: settings.compression.description,
                seconds: seconds,
                tables: zip(plans, totals).map { plan, table in
                    ExportResult.TableSummary(
                        table: plan.qualifiedName, rows: table.totals.rows, bytes: table.totals.bytes,
                        chunks: table.totals.chunks, digest: table.totals.digest.hex, seconds: table.seconds)
                })
        }
    }

    /// Reads `plans` in the coordinator's snapshot (workers join it) into one archive object —
    /// tables.json, the chunks, manifest.json — and commits the snapshot's transactions. The
    /// object is published by the caller (`finish`) or removed (`abort`).
    func writeArchive(store: ObjectStore, coordinator: PostgresConnection, source: Manifest.Source, plans: [TablePlan],
                      naming: ObjectNaming, key: String?, signed: Bool, started: Date) throws -> WrittenArchive {
        let workerCount = max(1, min(settings.jobs, plans.count))
        let workerConnections = try (0..<workerCount).map { _ in
            try SnapshotSession.join(source.snapshot, conninfo: settings.database, lockTimeout: settings.lockWaitTimeout)
        }
        let watchdog = try LockWatchdog(conninfo: settings.database, holders: [coordinator.backendPID] + workerConnections.map(\.backendPID),
                                        timeout: settings.lockWaitTimeout)
        let archive = try SealedArchiveWriter(store: store, naming: naming, key: key, compression: settings.compression,
                                              recipients: settings.recipients, signed: signed)
        do {
            let tar = archive.tar
            let types = try TypeCollector.collect(plans, on: coordinator)
            let definitions = TableDefinitions(tables: plans.map {
                TableDefinitions.Table(schema: $0.schema, name: $0.name, columns: $0.manifestColumns, key: $0.keyColumns, filter: $0.filter)
            }, types: types.isEmpty ? nil : types)
            let definitionBytes = try definitions.encoded()
            try definitionBytes.withUnsafeBytes { try tar.addFile(path: TableDefinitions.entryPath, contents: $0) }
            let totals: [WrittenTable]
            do {
                defer { watchdog.stop() }
                totals = try writeChunks(plans: plans, connections: workerConnections, into: tar, started: started, watchdog: watchdog)
            }
            for connection in workerConnections { try connection.execute("COMMIT") }
            try coordinator.execute("COMMIT")

            let manifest = try SpoolFile()
            try ManifestWriter.write(
                header: .init(createdAt: naming.createdAt, profile: settings.profile.name, source: source, toolVersion: Self.toolVersion),
                tables: zip(plans, totals).map { ($0, $1.totals, $1.chunkLog) }, types: types, to: manifest)
            let manifestDigest = try archive.addManifest(manifest)
            return WrittenArchive(archive: archive, totals: totals, plans: plans, manifestDigest: manifestDigest,
                                  tablesSHA256: SHA256Hasher.hash(definitionBytes).hex)
        } catch {
            archive.abort()
            progress.finished()
            throw error
        }
    }

    struct WrittenTable {
        let totals: TableTotals
        let chunkLog: SpoolFile
        let seconds: Double
    }

    /// Runs the workers and writes their chunks into the tar as they come, until every table is
    /// done. On any failure the workers are cancelled before the error goes up.
    private func writeChunks(plans: [TablePlan], connections: [PostgresConnection], into tar: TarWriter, started: Date,
                             watchdog: LockWatchdog) throws -> [WrittenTable] {
        let capacity = settings.chunkSize + settings.chunkSize / 8
        let pool = BufferPool(buffers: connections.count * 2 + 1, capacity: capacity)
        let messages = BlockingQueue<WorkerMessage>(capacity: connections.count * 2 + 4)
        // Tables are handed out in profile order; each worker takes the next when it is done.
        let dispenser = TableDispenser(order: Array(plans.indices))
        let workers = connections.map {
            TableWorker(connection: $0, plans: plans, nextTable: dispenser, chunkSize: settings.chunkSize, pool: pool, messages: messages)
        }
        let chunkLogs = try plans.map { _ in try SpoolFile() }
        var totals = [TableTotals?](repeating: nil, count: plans.count)
        var seconds = [Double](repeating: 0, count: plans.count)
        progress.started(tables: plans.map { ProgressTable(name: $0.qualifiedName, estimatedRows: $0.estimatedRows) })
        let interruption = cleanup?.addAction { workers.forEach { $0.canceller?.cancel(waitingAtMost: 3) } }
        defer { if let interruption { cleanup?.removeAction(interruption) } }

        workers.forEach { $0.start() }
        var finishedWorkers = 0
        do {
            var lastMessage = Date()
            while finishedWorkers < workers.count {
                try watchdog.check()
                guard let message = messages.pop(timeout: 0.25) else {
                    progress.tick()
                    // Keepalives end a connection whose peer is gone; a server or network that
                    // is there but sends nothing is ended here.
                    if Date().timeIntervalSince(lastMessage) > settings.stallTimeout {
                        throw ExportError.stalled(seconds: settings.stallTimeout)
                    }
                    continue
                }
                lastMessage = Date()
                switch message {
                case .chunk(let chunk):
                    let plan = plans[chunk.tableIndex]
                    let path = ChunkPath.path(table: plan.qualifiedName, number: chunk.number)
                    try tar.addFile(path: path, contents: chunk.buffer.bytes)
                    try chunkLogs[chunk.tableIndex].write((chunk.number == 1 ? "\n        " : ",\n        ")
                        + ManifestWriter.chunkEntry(path: path, rows: chunk.rows, bytes: chunk.buffer.count,
                                                    sha256: chunk.sha256, firstKey: chunk.firstKey, lastKey: chunk.lastKey))
                    progress.chunkWritten(table: plan.qualifiedName, rows: chunk.rows, bytes: chunk.buffer.count)
                    pool.give(chunk.buffer)
                    progress.tick()
                case .tableStarted(let index):
                    progress.tableStarted(table: plans[index].qualifiedName)
                case .tableDone(let index, let tableTotals):
                    totals[index] = tableTotals
                    seconds[index] = Date().timeIntervalSince(started)
                    if tableTotals.chunks > 0 { try chunkLogs[index].write("\n      ") }
                    progress.tableFinished(table: plans[index].qualifiedName, rows: tableTotals.rows, bytes: tableTotals.bytes, seconds: seconds[index])
                case .workerFinished:
                    finishedWorkers += 1
                case .failed(let error):
                    throw error
                }
            }
        } catch {
            pool.close()
            messages.close()
            workers.forEach { $0.canceller?.cancel(waitingAtMost: 3) }
            workers.forEach { $0.join(timeout: 3) }
            throw error
        }
        workers.forEach { $0.join(timeout: 10) }
        return plans.indices.map { WrittenTable(totals: totals[$0]!, chunkLog: chunkLogs[$0], seconds: seconds[$0]) }
    }

    /// Exports the coordinator's snapshot and reads where it stands.
    static func exportSnapshot(on connection: PostgresConnection) throws -> Manifest.Source {
        let row = try connection.execute("""
            SELECT pg_export_snapshot(),
                   (CASE WHEN pg_is_in_recovery() THEN pg_last_wal_replay_lsn() ELSE pg_current_wal_lsn() END)::text,
                   current_database(), current_setting('server_version')
            """).rows[0]
        return Manifest.Source(database: row[2] ?? "", serverVersion: row[3] ?? "", snapshot: row[0] ?? "", walLSN: row[1] ?? "")
    }

    /// The source of an export that reads a snapshot exported elsewhere (a base of change
    /// segments): the snapshot and position are the slot's, the rest the server's.
    static func describe(_ connection: PostgresConnection, snapshot: String, walLSN: String) throws -> Manifest.Source {
        let row = try connection.execute("SELECT current_database(), current_setting('server_version')").rows.first ?? []
        var source = Manifest.Source(database: row.first.flatMap { $0 } ?? "", serverVersion: row.dropFirst().first.flatMap { $0 } ?? "",
                                     snapshot: snapshot, walLSN: walLSN)
        source.walLSNExact = true
        return source
    }

    /// On a hot standby, says what may cancel the export and what each remedy costs.
    static func noteStandby(_ connection: PostgresConnection, logger: Logger) throws {
        let row = try connection.execute("""
            SELECT pg_is_in_recovery(), current_setting('max_standby_streaming_delay'), current_setting('hot_standby_feedback')
            """).rows[0]
        guard row[0] == "t" else { return }
        let delay = Terminal.escaped(row[1] ?? "?")
        let feedback = Terminal.escaped(row[2] ?? "?")
        if feedback == "on" || delay == "-1" {
            let cost = feedback == "on" ? "the primary keeps dead rows while the export runs" : "replay waits while the export reads"
            logger.notice("exporting from a hot standby (hot_standby_feedback = \(feedback), max_standby_streaming_delay = \(delay)): \(cost)")
        } else {
            logger.warning("exporting from a hot standby with max_standby_streaming_delay = \(delay) and hot_standby_feedback = off: a query longer than that may be cancelled by replay (docs/OPERATIONS.md, \"Running against production\")")
        }
    }

    static func exactSnapshot(_ conninfo: String) throws -> ExactSnapshot {
        do { return try ExactSnapshot.take(conninfo: conninfo) } catch let unavailable as ExactSnapshot.Unavailable {
            throw ExportError.exactPosition(unavailable.problems)
        }
    }
}
