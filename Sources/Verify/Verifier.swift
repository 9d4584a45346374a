import ArchiveFormat
import ArchiveReading
import ByteStreams
import Cryptography
import Foundation
import ObjectStore
import Restore

/// What verification needs: the archive, the level, and the keys that level requires.
public struct VerificationRequest {
    public var archive: String
    public var level: VerificationReport.Level
    public var policy: TrustPolicy
    public var keys: AgeKeyring
    public var limits = ReadLimits()
    /// How the archive's store is reached: S3 endpoint, region, credentials (a directory needs none).
    public var storeSettings = StoreSettings()
    /// Where pending clean-up (staging files, scratch databases) is registered for the
    /// program's signal handler; nil: none (docs/DESIGN.md, "Signals").
    public var cleanup: CleanupRegistry?
    /// For the restore level: a database URL on the server where the scratch database is made.
    public var scratchDatabaseURL: String?
    public var keepScratch = false
    /// A partitioned archive's parts read at once (each on two threads of its own).
    public var partJobs = 1
    /// For the restore level: also replay the archive's change segments up to this point in
    /// the scratch database (docs/FORMAT.md §11), and read the tables back as they then stand.
    public var until: ReplayTarget?
    /// For the restore level: replay up to this later base's exact position and require its
    /// sealed digests (continuity).
    public var untilArchive: String?
    /// With `until`: compare the replayed tables with a live database in an exact snapshot.
    package var liveComparison: LiveComparison?

    public init(archive: String, level: VerificationReport.Level, policy: TrustPolicy, keys: AgeKeyring) {
        self.archive = archive
        self.level = level
        self.policy = policy
        self.keys = keys
    }
}

/// Verification could not run (exit 2), as opposed to finding the archive bad (a report with
/// failures, exit 1).
public enum VerificationError: Error, CustomStringConvertible {
    case missingScratchDatabase
    case notTables(String)
    case notALaterBase(String, String)

    public var description: String {
        switch self {
        case .notTables(let archive):
            "\(archive) is an archive of files (pgseal seal): it has no rows to restore; verify it at level deep"
        case .notALaterBase(let archive, let why):
            "\(archive) cannot be replayed to: \(why)"
        case .missingScratchDatabase:
            "the restore level needs a server to restore into (a database URL, for a role that may CREATE DATABASE)"
        }
    }
}

/// `pgseal verify`: the seal level proves the object authentic and intact as stored; the deep
/// level also opens it and checks every chunk, row and digest against the manifest and the
/// seal — in one streaming pass over the object.
package enum Verifier {
    public static func run(_ request: VerificationRequest) throws -> VerificationReport {
        let started = Date()
        var report = VerificationReport(archive: request.archive, level: request.level)
        report.verifiedAt = StampFormat.rfc3339(started)
        report.trustedKeys = request.policy.signers.entries.map(\.key.fingerprint)
        defer { report.seconds = Date().timeIntervalSince(started) }

        let archive = try ArchiveLocation(request.archive, settings: request.storeSettings)
        var policy = request.policy
        policy.allowUnsigned = false  // verification is of sealed archives only
        let gated: GatedArchive
        do {
            gated = try GatedArchive.open(archive, policy: policy, limits: request.limits)
        } catch let problem as SealProblem {
            report.fail(problem.location, problem.problem)
            return finished(report, started)
        }
        guard let seal = gated.seal else { return finished(report, started) }
        report.signer = gated.signer?.fingerprint
        report.seal = .init(profile: seal.profile, createdAt: seal.createdAt, snapshot: seal.snapshot, walLSN: seal.walLSN,
                            tool: seal.tool, sealSHA256: gated.sealSHA256 ?? "", tables: seal.tables, chain: seal.chain)
        if request.level != .seal && archive.isEncrypted && request.keys.isEmpty {
            throw ArchiveAccessError.missingIdentity(request.archive)
        }
        if request.level == .restore && seal.isFilesArchive { throw VerificationError.notTables(request.archive) }
        if request.level == .restore && request.scratchDatabaseURL == nil {
            throw VerificationError.missingScratchDatabase
        }
        // A scratch database that a killed verification left is decrypted data: gone first.
        if request.level == .restore, let url = request.scratchDatabaseURL {
            report.staleScratchRemoved = ScratchDatabase.removeStale(adminURL: url)
        }

        if gated.isPartitioned {
            try PartitionedCheck(gated: gated, seal: seal, request: request).run(into: &report)
            return finished(report, started)
        }
        var replay: ReplayCheck?
        if request.level == .restore, request.until != nil || request.untilArchive != nil {
            replay = try ReplayCheck.prepare(base: gated, request: request, into: &report)
            guard replay != nil else { return finished(report, started) }
        }
        let manifest = try readObject(gated, seal: seal, request: request, into: &report)
        if request.level == .restore, report.ok, let manifest {
            try restore([.init(manifest: manifest, openTar: { try gated.openTar(keys: request.keys) })], request: request, into: &report) { scratch, report in
                guard let replay, report.ok else { return }
                let started = Date()
                try replay.run(tables: TableDefinitions(manifest: manifest).tables, scratch: scratch, into: &report)
                report.phases["replay"] = Date().timeIntervalSince(started)
            }
        }
        return finished(report, started)
    }

    /// The restore level over the objects read: into a scratch database made for it and dropped
    /// after (kept with `keepScratch`).
    static func restore(_ sources: [RestoreCheck.Source], request: VerificationRequest, into report: inout VerificationReport,
                        then: (ScratchDatabase, inout VerificationReport) throws -> Void = { _, _ in }) throws {
        guard let url = request.scratchDatabaseURL else { throw VerificationError.missingScratchDatabase }
        let scratch = try ScratchDatabase(adminURL: url, cleanup: request.cleanup)
        report.scratchDatabase = scratch.name
        defer { request.keepScratch ? scratch.keep() : scratch.drop() }
        try RestoreCheck(sources: sources, scratch: scratch, limits: request.limits).run(into: &report)
        try then(scratch, &report)
    }

    /// The seal and deep levels' reading of one object (an archive, or one part of a partitioned
    /// one): decrypted, decompressed and checked in one pass, held to `seal`. Returns the
    /// manifest when it was read and matches the seal.
    static func readObject(_ gated: GatedArchive, seal: SealDocument, request: VerificationRequest,
                           into report: inout VerificationReport) throws -> Manifest? {
        let archive = gated.location
        let object = try gated.openObject()
        // A damaged header can look like a key that does not match; which it is, the object's
        // hash against the seal decides once the whole object has been read.
        var keyProblem: AgeError?
        var objectProblem: SealProblem?
        var manifest: Manifest?
        let readStarted = Date()
        if request.level != .seal {
            do {
                let plain = try archive.plaintext(of: object, keys: request.keys)
                let tar = try gated.tar(overPlaintext: plain)
                // The tar ends before its compressed stream and the last age chunks do: those
                // are decrypted too, so that every chunk of the age layer is authenticated.
                let drain = { try plain.forEachBlock(size: 64 * 1024) { _ in } }
                if seal.isFilesArchive {
                    try FilesCheck(seal: seal).run(tar, into: &report)
                    try drain()
                } else {
                    // Decryption, decompression, the chunks' and the rows' hashes on one core, the
                    // rows' checks on the other; joined before the object is looked at again below.
                    let rows = RowHashing(maxLineBytes: request.limits.maxRowBytes,
                                          sealedRows: Dictionary(seal.tables.map { ($0.name, $0.rows) }, uniquingKeysWith: { first, _ in first }))
                    let ahead = TarReadAhead(tar, observer: rows, after: drain)
                    defer { ahead.stop() }
                    manifest = try DeepCheck(seal: seal, limits: request.limits, rowHashing: rows).run(ahead, into: &report)
                    try ahead.finish()
                }
            } catch let error where error.sealProblem != nil {
                objectProblem = error.sealProblem
            } catch let error as AgeError {
                if error.isIntegrityFailure { report.fail("age", "\(error)") } else { keyProblem = error }
            } catch is DeepCheck.Stopped {
                // Reported where it stopped; the object's hash below says whether it was altered.
            } catch let error as ArchiveError {
                // A store that failed beneath the tar is not a damaged archive.
                if let underlying = error.underlying, !(underlying is AgeError) { throw underlying }
                if let age = error.underlying as? AgeError {
                    if age.isIntegrityFailure { report.fail("age", "\(age)") } else { keyProblem = age }
                } else {
                    report.fail("tar", "\(error)")
                }
            }
        }
        if objectProblem == nil {
            do { try object.finish() } catch let problem as SealProblem { objectProblem = problem }
        }
        report.objectBytes = object.count
        report.objectSHA256 = object.digest?.hex
        if let objectProblem {
            // Whatever else was found follows from the object not being the sealed one.
            if let keyProblem { report.failures.insert(.init(location: "age", problem: "\(keyProblem)"), at: 0) }
            report.failures.insert(.init(location: objectProblem.location, problem: objectProblem.problem), at: 0)
        } else if let keyProblem {
            throw keyProblem
        }
        report.phases["read"] = Date().timeIntervalSince(readStarted)
        return manifest
    }

    /// The deep level's checks of one tar stream against `seal`, for callers that hold the
    /// stream themselves (and the fuzz tests): no store, no object hash.
    package static func deepCheck(_ tar: TarReader, seal: SealDocument, limits: ReadLimits = ReadLimits()) throws -> VerificationReport {
        var report = VerificationReport(archive: seal.object, level: .deep)
        do {
            _ = try DeepCheck(seal: seal, limits: limits).run(tar, into: &report)
        } catch is DeepCheck.Stopped {}
        return report
    }

    private static func finished(_ report: VerificationReport, _ started: Date) -> VerificationReport {
        var report = report
        report.seconds = Date().timeIntervalSince(started)
        return report
    }
}
