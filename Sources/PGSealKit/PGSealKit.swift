// The library's vocabulary: the value types a caller builds requests from and reads results
// of. They live in the modules that implement them, where only they are `public` (everything
// else is `package`: visible to pgseal's own targets, never to a caller); re-exported here, as
// swift-nio's NIO re-exports NIOCore, they are the public face.
@_exported import ArchiveFormat
@_exported import ArchiveReading
@_exported import ByteStreams
@_exported import Cryptography
@_exported import DatabaseCatalog
@_exported import Export
@_exported import Follow
@_exported import ObjectStore
@_exported import Operations
@_exported import Restore
@_exported import Verify
import Foundation
import Logging

/// What went wrong, in the two kinds pgseal's exit codes tell apart.
public struct PGSealError: Error, CustomStringConvertible, IntegrityViolation {
    public enum Kind: Sendable {
        /// The thing checked is bad: tampered, truncated, not what its seal says (exit 1).
        case integrity
        /// pgseal could not do its job: configuration, credentials, an unreachable database or
        /// store, a missing key (exit 2).
        case unavailable
    }

    public let kind: Kind
    /// The error of the layer that failed, with its own message.
    public let underlying: Error

    public init(_ error: Error) {
        if let known = error as? PGSealError {
            self = known
            return
        }
        underlying = error
        kind = (error as? IntegrityViolation)?.isIntegrityFailure == true ? .integrity : .unavailable
    }

    public var description: String { "\(underlying)" }
    public var isIntegrityFailure: Bool { kind == .integrity }
    /// The command line's exit code for this error.
    public var exitCode: Int32 { kind == .integrity ? 1 : 2 }
}

/// pgseal's operations, as its command line runs them: export a profile into a store, prove an
/// archive, compare it with a database, restore it, find the newest archive of a profile.
/// Every operation streams with bounded memory and believes nothing of an archive before its
/// seal verifies against the request's `TrustPolicy`.
public enum PGSeal {
    /// Exports `settings.profile`'s tables, in one snapshot, into one new sealed archive, and
    /// returns what it wrote. `progress` hears of tables starting, chunks written and tables
    /// finished, on the writer thread.
    /// What an interruption would leave (a temporary file, an incomplete upload) is registered
    /// with `cleanup`, for the caller's own signal handler to undo (`CleanupRegistry.runAll`).
    public static func export(_ settings: ExportSettings, progress: ExportProgress = SilentProgress(),
                              logger: Logger = Logger(label: "pgseal"), cleanup: CleanupRegistry? = nil) throws(PGSealError) -> ExportResult {
        try wrapped { try ExportJob(settings: settings, logger: logger, progress: progress, cleanup: cleanup).run() }
    }

    /// A partitioned export (docs/FORMAT.md §10): this process coordinates — holds the snapshot,
    /// plans the parts, has `launcher` run them (nil: workers elsewhere write them) — and seals.
    public static func exportPartitioned(_ settings: ExportSettings, options: PartitionedExport.Options, launcher: PartLauncher?,
                                         logger: Logger = Logger(label: "pgseal"), cleanup: CleanupRegistry? = nil) throws(PGSealError) -> ExportResult {
        try wrapped { try PartitionedExport(settings: settings, options: options, launcher: launcher, logger: logger, cleanup: cleanup).run() }
    }

    /// Follows the profile's changes through a logical replication slot into sealed change
    /// segments (docs/FORMAT.md §11), starting a chain with a base export when there is none,
    /// until caught up (`settings.untilCaughtUp`) or until `stop` is requested — then the open
    /// segment is sealed before it returns. Killed instead, it loses nothing: the next run
    /// resumes from the slot and the store.
    public static func follow(_ settings: FollowSettings, stop: StopRequest = StopRequest(), logger: Logger = Logger(label: "pgseal"),
                              cleanup: CleanupRegistry? = nil, metrics: FollowMetrics = FollowMetrics()) throws(PGSealError) -> FollowResult {
        try wrapped { try Follower(settings: settings, logger: logger, stop: stop, cleanup: cleanup, metrics: metrics).run() }
    }

    /// Verifies an archive at the request's level. A bad archive is not an error: the report
    /// says so (`ok` false, each failure named); errors mean the verification could not run.
    public static func verify(_ request: VerificationRequest) throws(PGSealError) -> VerificationReport {
        try wrapped { try Verifier.run(request) }
    }

    /// Compares an archive with a database, row by row, in one read-only snapshot.
    public static func diff(_ request: DiffRequest) throws(PGSealError) -> DiffReport {
        try wrapped { try DiffEngine.run(request) }
    }

    /// Compares a base and its change segments, replayed in a scratch database on
    /// `scratchDatabaseURL` to a temporary slot's exact position, with the live database read
    /// in that slot's snapshot; waits up to `wait` for the follower to seal past the position.
    public static func diffReplayed(_ request: DiffRequest, scratchDatabaseURL: String, wait: TimeInterval = 300,
                                    cleanup: CleanupRegistry? = nil) throws(PGSealError) -> DiffReport {
        try wrapped { try ReplayedDiff.run(request, scratchDatabaseURL: scratchDatabaseURL, wait: wait, cleanup: cleanup) }
    }

    /// Loads an archive's rows into a database in one transaction, every byte held to the
    /// seal before the commit. `progress` hears a line per table loaded.
    public static func restore(_ request: RestoreRequest, progress: (String) -> Void = { _ in }) throws(PGSealError) -> RestoreResult {
        try wrapped { try Restorer.run(request, progress: progress) }
    }

    /// Puts selected rows of one table back into a live database, in one transaction, by the
    /// request's conflict policy (or, with `dryRun`, says what it would do).
    public static func recover(_ request: RecoveryRequest) throws(PGSealError) -> RecoveryResult {
        try wrapped { try RowRecovery.run(request) }
    }

    /// After a database was restored to an earlier point: the profile's changes committed after
    /// it, from a base's change segments, listed and (with `putBack`) put back in one transaction.
    public static func lost(_ request: LossRequest, progress: (String) -> Void = { _ in }) throws(PGSealError) -> LossReport {
        try wrapped { try LossRecovery.run(request, progress: progress) }
    }

    /// Puts an archive of files back on disk, after proving its seal and every entry.
    public static func extract(_ request: ExtractRequest) throws(PGSealError) -> ExtractResult {
        try wrapped { try FileExtractor.run(request) }
    }

    /// The location of the newest archive in `store` (a directory or `s3://bucket/prefix/`)
    /// whose seal verifies against `signers`, of `profile` (needed when the store holds several).
    public static func latestArchive(in store: String, profile: String?, signers: AllowedSigners,
                                     storeSettings: StoreSettings = StoreSettings()) throws(PGSealError) -> String {
        try wrapped { try LatestArchive.location(in: try openStore(store, settings: storeSettings), named: store, profile: profile, signers: signers) }
    }

    /// Signs `report` with the verifier's `key` and stores it beside the archive as an
    /// attestation (`<archive>.attestation.<time>-<level>.json` and its `.sig`); returns where.
    public static func attest(_ report: VerificationReport, key: SSHSigningKey,
                              storeSettings: StoreSettings = StoreSettings()) throws(PGSealError) -> String {
        try wrapped { try Attestations.record(report, key: key, storeSettings: storeSettings) }
    }

    /// Each profile's series in `store` (or `profile`'s) walked: every seal's signature checked,
    /// every link followed, each break named. Reads seals only, one at a time.
    public static func chain(in store: String, profile: String?, policy: TrustPolicy, since: Date? = nil,
                             storeSettings: StoreSettings = StoreSettings()) throws(PGSealError) -> [ChainState] {
        try wrapped { try SeriesChain.walk(try openStore(store, settings: storeSettings), profile: profile, policy: policy, since: since) }
    }

    /// The auditors' evidence for `store` (or `profile`): from seals, tombstones and
    /// attestations, streamed; `EvidenceReport.writeJSON` and `EvidencePage` render it.
    public static func evidence(in store: String, profile: String?, policy: TrustPolicy, verifiers: AllowedSigners,
                                settings: EvidenceReport.Settings, storeSettings: StoreSettings = StoreSettings()) throws(PGSealError) -> EvidenceReport {
        try wrapped {
            try EvidenceReport.build(store: try openStore(store, settings: storeSettings), named: store, profile: profile, policy: policy, verifiers: verifiers, settings: settings)
        }
    }

    /// The archives in `store` (or `profile`'s): sealed (their seals checked against `signers`
    /// when given), unverified, incomplete, uploads in progress, tombstones. Seals only are read.
    public static func list(in store: String, profile: String?, signers: AllowedSigners?,
                            storeSettings: StoreSettings = StoreSettings()) throws(PGSealError) -> ArchiveCatalog {
        try wrapped { try ArchiveCatalog.scan(try openStore(store, settings: storeSettings), profile: profile, signers: signers) }
    }

    /// The monitor: each profile's newest sealed archive must be younger than the request's
    /// maximum age, verify at its level, and (when asked) have a recent attestation. A late or bad
    /// archive is not an error: the result says so (`ok` false, each profile's status named).
    public static func check(_ request: FreshnessCheck.Request) throws(PGSealError) -> FreshnessCheck.Result {
        try wrapped { try FreshnessCheck.run(request) }
    }

    /// Retention: deletes what the request's policy no longer keeps (a tombstone for each),
    /// never the newest, never an unverified seal, never an object under Object Lock.
    public static func prune(_ request: Pruner.Request) throws(PGSealError) -> Pruner.Outcome {
        try wrapped { try Pruner.run(request) }
    }

    /// Copies a sealed archive to another store and proves the copy against the signed seal.
    public static func replicate(_ request: Replicator.Request) throws(PGSealError) -> Replicator.Outcome {
        try wrapped { try Replicator.run(request) }
    }

    private static func wrapped<T>(_ body: () throws -> T) throws(PGSealError) -> T {
        do { return try body() } catch { throw PGSealError(error) }
    }
}
