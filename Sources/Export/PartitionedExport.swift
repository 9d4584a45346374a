import ArchiveFormat
import ByteStreams
import DatabaseCatalog
import Foundation
import Logging
import ObjectStore
import Postgres

/// How a partitioned export's parts get written: by worker processes the coordinator starts
/// (`ProcessPartLauncher`), or by workers started elsewhere — a Kubernetes Indexed Job, an AWS
/// Batch array job — which the coordinator waits for (no launcher).
public protocol PartLauncher: Sendable {
    /// Runs part `index` (from 0) to its end, handing the worker `key` outside the store;
    /// throws when the worker failed.
    func run(part index: Int, key: PartitionKey) throws
    /// Stops every worker still running (the coordinator was interrupted).
    func stopAll()
}

/// The coordinator of a partitioned export (docs/FORMAT.md §10): holds the snapshot, splits the
/// tables into key ranges, hands parts to workers, retries a failed part, and — when every part's
/// receipt is in and agrees with the plan — writes the one signed seal, last. Until then nothing
/// counts as sealed; on failure the parts written so far are removed.
public struct PartitionedExport {
    public struct Options: Sendable {
        public var parts: Int
        /// Parts run at once by a launcher.
        public var concurrency: Int
        /// Attempts per part before the export fails.
        public var attempts = 3
        /// How long the coordinator (and its snapshot) waits for all parts.
        public var timeout: TimeInterval = 6 * 3600

        public init(parts: Int, concurrency: Int) {
            self.parts = parts
            self.concurrency = concurrency
        }
    }

    let settings: ExportSettings
    let options: Options
    let launcher: PartLauncher?
    let logger: Logger
    let job: ExportJob

    public init(settings: ExportSettings, options: Options, launcher: PartLauncher?, logger: Logger, cleanup: CleanupRegistry? = nil) {
        self.settings = settings
        self.options = options
        self.launcher = launcher
        self.logger = logger
        self.job = ExportJob(settings: settings, logger: logger, progress: SilentProgress(), cleanup: cleanup)
    }

    public func run() throws -> ExportResult {
        let started = Date()
        try ArchiveNames.checkProfile(settings.profile.name)
        guard settings.baseSnapshot == nil, !settings.exactPosition else { throw ExportError.partition("a base of change segments, or an export at an exact position, is one export, not a partitioned one") }
        guard (2...256).contains(options.parts) else { throw ExportError.partition("--partitions takes 2 to 256 parts, not \(options.parts)") }
        guard let signingKey = settings.signingKey else {
            throw ExportError.partition("a partitioned archive is made whole by its signed seal alone: give --sign-key")
        }
        let key: PartitionKey
        if let given = settings.partitionKey {
            key = given
        } else if launcher != nil {
            key = .random()
        } else {
            throw ExportError.partition("workers started elsewhere prove their parts with a key shared outside the store: give the coordinator and every worker --partition-key-file (or PGSEAL_PARTITION_KEY); make one with: openssl rand -hex 32")
        }
        let store = try job.openDestination()
        let planKey = PartitionPlan.key(profile: settings.profile.name)
        if try store.presence(of: planKey) {
            throw ExportError.partition("\(store.location(of: planKey)) exists: another partitioned export of \(settings.profile.name) is running, or one died — if none runs, remove that file")
        }
        _ = try SeriesTip.link(in: store, profile: settings.profile.name, excluding: "")

        let coordinator = try PostgresConnection(conninfo: settings.database)
        try SnapshotSession.configure(coordinator, lockTimeout: settings.lockWaitTimeout)
        try coordinator.run(script: "BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        let source = try ExportJob.exportSnapshot(on: coordinator)
        logger.info("snapshot \(source.snapshot) of \(coordinator.target) at WAL \(source.walLSN), held for \(options.parts) parts")
        let plans = try job.resolvePlans(on: coordinator)
        let naming = ObjectNaming(profile: settings.profile.name, time: started)
        let suffix = SealedArchiveWriter.suffix(compression: settings.compression, encrypted: !settings.recipients.isEmpty)
        let archiveKey = naming.objectKey(extension: suffix)
        let assignment = try assign(plans, on: coordinator)
        let plan = PartitionPlan(archive: archiveKey, profile: settings.profile.name, createdAt: naming.createdAt, source: source,
                                 parts: assignment.enumerated().map { index, tables in
                                     PartitionPlan.Part(object: PartNaming.partKey(archive: archiveKey, suffix: suffix, index: index, count: assignment.count),
                                                        tables: tables)
                                 })
        // Nothing of a failed or interrupted export stays under a final name: not its parts,
        // their receipts, its plan, nor a seal without its signature.
        let written = plan.parts.flatMap { [$0.object, $0.object + ".sha256", $0.object + PartReceipt.suffix] } + [planKey, archiveKey + ".seal"]
        let cleanup = job.cleanup
        let interruption = cleanup?.addAction { [launcher] in
            launcher?.stopAll()
            _ = try? store.delete(keys: written)
        }
        defer { if let interruption { cleanup?.removeAction(interruption) } }
        try store.put(key: planKey, contents: try DocumentJSON.encoded(plan))
        let seal: SealDocument
        do {
            let watchdog = try LockWatchdog(conninfo: settings.database, holders: [coordinator.backendPID], timeout: settings.lockWaitTimeout)
            defer { watchdog.stop() }
            try runParts(plan, store: store, key: key, watchdog: watchdog)
            let receipts = try readReceipts(plan, store: store, key: key)
            let totals = PartitionTotals(receipts)
            guard let size = totals.size else { throw ExportError.partition("the receipts' sizes do not add up") }
            var document = SealDocument(
                object: (archiveKey as NSString).lastPathComponent, size: size, sha256: totals.sha256,
                manifestSHA256: totals.manifestSHA256, createdAt: naming.createdAt, profile: settings.profile.name,
                encryption: settings.recipients.isEmpty ? "none" : "age-x25519", recipients: settings.recipients.map(\.description),
                compression: settings.compression.name, snapshot: source.snapshot, walLSN: source.walLSN,
                tables: try Self.tableTotals(plans: plans, receipts: receipts), signer: signingKey.publicKey.fingerprint, tool: "pgseal \(ExportJob.toolVersion)")
            document.format = SealDocument.partitionedFormatIdentifier
            document.parts = receipts
            document.chain = SealChain(previous: try SeriesTip.link(in: store, profile: settings.profile.name, excluding: archiveKey))
            document.durationSeconds = (Date().timeIntervalSince(started) * 1000).rounded() / 1000
            try SealedArchiveWriter.publish(document, of: archiveKey, in: store, signingKey: signingKey)
            seal = document
        } catch {
            _ = try? store.delete(keys: written)
            throw error
        }
        // Sealed: from here on nothing may remove a part, an interruption included. The snapshot
        // is no longer needed.
        if let interruption { cleanup?.removeAction(interruption) }
        _ = try? store.delete(keys: [planKey])
        _ = try? coordinator.execute("COMMIT")
        return ExportResult(
                archive: store.location(of: archiveKey), key: archiveKey, profile: settings.profile.name, createdAt: naming.createdAt,
                encrypted: !settings.recipients.isEmpty, signer: signingKey.publicKey.fingerprint, objectBytes: seal.size,
                objectSHA256: seal.sha256, manifestSHA256: seal.manifestSHA256, snapshot: source.snapshot, walLSN: source.walLSN,
                compression: settings.compression.description, seconds: Date().timeIntervalSince(started),
                tables: seal.tables.map { .init(table: $0.name, rows: $0.rows, bytes: 0, chunks: 0, digest: $0.digest, seconds: 0) },
                parts: seal.parts?.count)
    }

    /// Per part, its tables and ranges: each keyed table split into up to `parts` ranges of
    /// about equal rows, range i to part i; tables that stay whole to the part with the fewest
    /// estimated rows so far. Parts left with nothing are dropped.
    private func assign(_ plans: [TablePlan], on connection: PostgresConnection) throws -> [[PartitionPlan.Table]] {
        var parts = [[PartitionPlan.Table]](repeating: [], count: options.parts)
        var load = [Double](repeating: 0, count: options.parts)
        var whole: [TablePlan] = []
        for plan in plans {
            let ranges = try KeyRanges.plan(plan, parts: options.parts, on: connection)
            guard ranges.count > 1 else {
                whole.append(plan)
                continue
            }
            let share = Double(plan.estimatedRows ?? 0) / Double(ranges.count)
            for (index, range) in ranges.enumerated() {
                parts[index].append(.init(name: plan.qualifiedName, range: range))
                load[index] += share
            }
        }
        for plan in whole.sorted(by: { ($0.estimatedRows ?? 0) > ($1.estimatedRows ?? 0) }) {
            let lightest = load.indices.min { load[$0] < load[$1] } ?? 0
            parts[lightest].append(.init(name: plan.qualifiedName, range: .whole))
            load[lightest] += Double(plan.estimatedRows ?? 0)
        }
        // Profile order within each part, as a single archive has.
        let order = Dictionary(plans.enumerated().map { ($1.qualifiedName, $0) }, uniquingKeysWith: { a, _ in a })
        return parts.filter { !$0.isEmpty }.map { $0.sorted { (order[$0.name] ?? 0) < (order[$1.name] ?? 0) } }
    }

    /// Every part written: by the launcher, `concurrency` at a time, each tried up to
    /// `attempts` times; or, without one, by workers elsewhere, until every receipt is there.
    private func runParts(_ plan: PartitionPlan, store: ObjectStore, key: PartitionKey, watchdog: LockWatchdog) throws {
        let deadline = Date().addingTimeInterval(options.timeout)
        guard let launcher else {
            logger.notice("waiting for \(plan.parts.count) part(s) from workers started elsewhere (pgseal export --partition-worker)")
            var missing = plan.parts.map { $0.object + PartReceipt.suffix }
            while !missing.isEmpty {
                try watchdog.check()
                missing = try missing.filter { try !store.presence(of: $0) }
                guard !missing.isEmpty else { break }
                guard Date() < deadline else {
                    throw ExportError.partition("\(missing.count) part(s) not written within \(Int(options.timeout)) s, among them \(store.location(of: missing[0]))")
                }
                Thread.sleep(forTimeInterval: min(2, watchdog.timeout / 4))
            }
            return
        }
        // The launcher's workers run on their own threads; the watchdog on one more, stopping
        // them all when the export must give way.
        let stall = Locked<Error?>(nil)
        let finished = Locked(false)
        let watcher = Thread { [launcher] in
            while !finished.withLock({ $0 }) {
                do { try watchdog.check() } catch {
                    stall.withLock { $0 = error }
                    launcher.stopAll()
                    return
                }
                Thread.sleep(forTimeInterval: 0.2)
            }
        }
        watcher.start()
        defer { finished.withLock { $0 = true } }
        let attempts = options.attempts
        let log = logger
        let count = plan.parts.count
        // Per part, why its last attempt failed; nil when one succeeded.
        let failures = ParallelIndices.map(count: count, threads: options.concurrency, timeout: options.timeout) { index -> String? in
            var lastError = ""
            for attempt in 1...attempts {
                do {
                    try launcher.run(part: index, key: key)
                    return nil
                } catch {
                    lastError = "\(error)"
                    log.warning("part \(index + 1) of \(count), attempt \(attempt) of \(attempts): \(error)")
                }
            }
            return "part \(index + 1): \(lastError)"
        }
        if let error = stall.withLock({ $0 }) { throw error }
        guard let failures else {
            throw ExportError.partition("the parts were not all written within \(Int(options.timeout)) s")
        }
        let failed = failures.compactMap { $0 }
        if let first = failed.first {
            throw ExportError.partition("\(failed.count) part(s) failed after \(attempts) attempts; the first: \(first)")
        }
    }

    /// The workers' receipts, each authenticated under the export's key, then checked against
    /// the plan and the object as listed.
    private func readReceipts(_ plan: PartitionPlan, store: ObjectStore, key: PartitionKey) throws -> [SealPart] {
        try plan.parts.enumerated().map { index, part in
            let receiptKey = part.object + PartReceipt.suffix
            let receipt = try PartReceipt.authenticated(try store.readSmall(key: receiptKey, limit: PartReceipt.sizeLimit), part: index, of: plan,
                                                        key: key, location: store.location(of: receiptKey))
            let listed = try store.list(prefix: part.object).first { $0.key == part.object }?.size
            guard receipt.object == (part.object as NSString).lastPathComponent, listed == receipt.size,
                  receipt.tables.map(\.name) == part.tables.map(\.name), receipt.tables.map(\.range) == part.tables.map(\.range),
                  receipt.tables.allSatisfy({ $0.rows >= 0 }) else {
                throw ExportError.partition("the receipt of \(store.location(of: part.object)) does not match the plan or the object")
            }
            return receipt
        }
    }

    /// Per table, in profile order: the rows of all its parts and the digest over theirs.
    static func tableTotals(plans: [TablePlan], receipts: [SealPart]) throws -> [SealDocument.Table] {
        try plans.map { plan in
            let table = PartitionTotals.table(plan.qualifiedName, in: receipts)
            guard let rows = table.rows else { throw ExportError.partition("the receipts' rows of \(plan.qualifiedName) do not add up") }
            return SealDocument.Table(name: plan.qualifiedName, rows: rows, digest: table.digest)
        }
    }
}

/// Runs each part as a `pgseal export --partition-worker --part N` process of the same binary
/// and configuration (the arguments come from the caller).
public struct ProcessPartLauncher: PartLauncher {
    public let executable: String
    public let arguments: @Sendable (Int) -> [String]
    private let running = RunningWorkers()

    public init(executable: String, arguments: @escaping @Sendable (Int) -> [String]) {
        self.executable = executable
        self.arguments = arguments
    }

    public func stopAll() { running.terminateAll() }

    /// The worker reads the key from its standard input (`--partition-key-file -`): a pipe,
    /// which neither the store, the process list nor the environment shows.
    public func run(part index: Int, key: PartitionKey) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments(index) + ["--partition-key-file", "-"]
        process.standardOutput = FileHandle.nullDevice
        let input = Pipe()
        process.standardInput = input
        try running.start(process)
        defer { running.remove(process) }
        try? input.fileHandleForWriting.write(contentsOf: Data((key.text + "\n").utf8))
        try? input.fileHandleForWriting.close()
        process.waitUntilExit()
        guard process.terminationReason == .exit, process.terminationStatus == 0 else {
            let how = process.terminationReason == .exit ? "exited with \(process.terminationStatus)" : "was killed by signal \(process.terminationStatus)"
            throw ExportError.partition("the worker process of part \(index + 1) \(how)")
        }
    }
}

/// The worker processes running now, for stopping them when the coordinator is interrupted.
private final class RunningWorkers: @unchecked Sendable {
    private let lock = NSLock()
    private var processes: [ObjectIdentifier: Process] = [:]
    private var stopped = false

    func start(_ process: Process) throws {
        try lock.withLock {
            guard !stopped else { throw ExportError.cancelled }
            try process.run()
            processes[ObjectIdentifier(process)] = process
        }
    }

    func remove(_ process: Process) { lock.withLock { _ = processes.removeValue(forKey: ObjectIdentifier(process)) } }

    func terminateAll() {
        let all = lock.withLock { () -> [Process] in
            stopped = true
            return Array(processes.values)
        }
        // SIGTERM: each worker aborts its upload or removes its partial file, then exits.
        for process in all where process.isRunning { process.terminate() }
        for process in all { process.waitUntilExit() }
    }
}
