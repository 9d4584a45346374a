import ArchiveFormat
import ByteStreams
import Cryptography
import Foundation
import ObjectStore

/// `pgseal prune`: deletes the objects of archives past their retention (`RetentionPolicy`) and
/// leaves a tombstone — the seal and its signature stay, with a `.tombstone` note of when and
/// why, written first — so that the series stays verifiable; never an archive a rule keeps,
/// never an object still under Object Lock retention (reported instead). The remains of failed
/// exports (no signed seal) go whole. It aborts stale incomplete uploads. Every archive it
/// looked at gets a decision with its reasons.
public struct Pruner {
    public struct Request: Sendable {
        public var store: String
        /// How the store is reached (S3 endpoint, region, credentials).
        public var storeSettings = StoreSettings()
        public var retention: RetentionPolicy
        public var profile: String?
        public var dryRun: Bool
        public var staleUploadAge: TimeInterval
        public var now: Date
        /// Only archives whose seal verifies against these count as sealed: a forged or broken
        /// seal never takes a keep place and is never deleted.
        public var signers: AllowedSigners

        public init(store: String, retention: RetentionPolicy, signers: AllowedSigners, profile: String? = nil, dryRun: Bool = false,
                    staleUploadAge: TimeInterval = 24 * 3600, now: Date = Date()) {
            self.store = store
            self.retention = retention
            self.signers = signers
            self.profile = profile
            self.dryRun = dryRun
            self.staleUploadAge = staleUploadAge
            self.now = now
        }

        /// `--keep-days N --keep-last M`: keep the newest M and everything of the last N days.
        public init(store: String, keepDays: Int, keepLast: Int, signers: AllowedSigners, profile: String? = nil, dryRun: Bool = false,
                    staleUploadAge: TimeInterval = 24 * 3600, now: Date = Date()) {
            self.init(store: store, retention: RetentionPolicy(last: keepLast, within: Double(keepDays) * 86_400), signers: signers,
                      profile: profile, dryRun: dryRun, staleUploadAge: staleUploadAge, now: now)
        }
    }

    /// What happened to one archive, and why.
    public struct Decision: Codable, Sendable {
        public enum Action: String, Codable, Sendable {
            case keep, delete, locked, failed, unverified
        }
        public let key: String
        public let profile: String
        public let createdAt: String
        public var action: Action
        /// The rules that keep it (`last 7`, `daily 2026-12-01`, `within 30d`), or why it goes.
        public var reasons: [String]

        enum CodingKeys: String, CodingKey {
            case key, profile, action, reasons
            case createdAt = "created_at"
        }
    }

    public struct Outcome: Codable, Sendable {
        public struct Locked: Codable, Sendable {
            package let key: String
            package let until: String
        }
        public struct Failed: Codable, Sendable {
            package let key: String
            package let reason: String
        }
        public var decisions: [Decision] = []
        public var deleted: [String] = []
        public var kept: [String] = []
        /// Archives with a seal that does not verify: left alone, with the reason.
        public var unverified: [Failed] = []
        public var locked: [Locked] = []
        public var failed: [Failed] = []
        public var abortedUploads = 0
        public var dryRun = false
        /// The change segments' decisions, as runs of consecutive segments of one chain.
        public var segments: [PrunedSegments] = []
        public var segmentsDeleted = 0

        enum CodingKeys: String, CodingKey {
            case decisions, deleted, kept, locked, failed, unverified
            case abortedUploads = "aborted_uploads"
            case dryRun = "dry_run"
            case segments
            case segmentsDeleted = "segments_deleted"
        }
    }

    /// What goes of a sealed archive, in order: the object last, the seal and its signature
    /// never (they are the tombstone).
    static let sealedDeletionOrder = [".sha256", ""]
    /// What goes of the remains of a failed export: everything, a stray seal first.
    static let unsealedDeletionOrder = [".seal.sig", ".seal", ".sha256", ""]

    package static func run(_ request: Request) throws -> Outcome {
        try run(request, in: try openStore(request.store, settings: request.storeSettings))
    }

    /// The same, on a store already open.
    package static func run(_ request: Request, in store: ObjectStore) throws -> Outcome {
        let catalog = try ArchiveCatalog.scan(store, profile: request.profile, signers: request.signers)
        var outcome = Outcome(dryRun: request.dryRun)
        for entry in catalog.unverified {
            let reason = entry.problem ?? "not verified"
            outcome.unverified.append(.init(key: entry.key, reason: reason))
            outcome.decisions.append(Decision(key: entry.key, profile: entry.profile, createdAt: entry.createdAt, action: .unverified,
                                              reasons: ["its seal does not verify (\(reason)): never counted, never deleted"]))
        }
        var candidates: [Decision] = []
        var sealedCandidates: Set<String> = []
        for profile in Set(catalog.sealed.map(\.profile)).sorted() {
            let archives = catalog.sealed.filter { $0.profile == profile }  // newest first
            let reasons = request.retention.reasons(for: archives.map { created($0) ?? .distantFuture }, now: request.now)
            for (entry, kept) in zip(archives, reasons) {
                if kept.isEmpty {
                    sealedCandidates.insert(entry.key)
                    candidates.append(Decision(key: entry.key, profile: profile, createdAt: entry.createdAt, action: .delete, reasons: ["no rule keeps it"]))
                } else {
                    outcome.kept.append(entry.key)
                    outcome.decisions.append(Decision(key: entry.key, profile: profile, createdAt: entry.createdAt, action: .keep, reasons: kept))
                }
            }
        }
        // An unsealed object older than the retention span (or the stale age) is the remains
        // of a failed export; a younger one may be an export still running.
        let cutoff = request.now.addingTimeInterval(-(request.retention.within ?? request.staleUploadAge))
        for entry in catalog.incomplete where (created(entry).map { $0 < cutoff } ?? false) {
            candidates.append(Decision(key: entry.key, profile: entry.profile, createdAt: entry.createdAt, action: .delete,
                                       reasons: ["unsealed: the remains of a failed or unsigned export"]))
        }
        for var decision in candidates {
            defer { outcome.decisions.append(decision) }
            if let until = try store.retainedUntil(key: decision.key) {
                let when = until == .distantFuture ? "legal hold" : ISO8601DateFormatter().string(from: until)
                outcome.locked.append(.init(key: decision.key, until: when))
                decision.action = .locked
                decision.reasons.append("kept: under retention until \(when)")
                continue
            }
            if request.dryRun { outcome.deleted.append(decision.key); continue }
            let sealed = sealedCandidates.contains(decision.key)
            if sealed {
                do { try leaveTombstone(for: decision.key, in: store, reason: decision.reasons.joined(separator: "; "), at: request.now) } catch {
                    outcome.failed.append(.init(key: decision.key, reason: "\(error)"))
                    decision.action = .failed
                    decision.reasons.append("writing its tombstone failed, nothing deleted: \(error)")
                    continue
                }
            }
            var removed = true
            // A partitioned archive's parts (with their receipts and .sha256) go first, while its
            // seal still marks it sealed; then what a single archive has.
            let parts = try store.list(prefix: Self.stem(of: decision.key) + ".part-")
                .map(\.key).filter { PartNaming.archiveKey(ofPart: $0) == decision.key }.sorted()
            let steps = parts.flatMap { [$0 + ".receipt", $0 + ".sha256", $0] }
                + (sealed ? sealedDeletionOrder : unsealedDeletionOrder).map { decision.key + $0 }
            for step in steps {
                // One call per step: the next step starts only when the previous one is done.
                if let failure = try store.delete(keys: [step]).first {
                    outcome.failed.append(.init(key: failure.key, reason: failure.reason))
                    decision.action = .failed
                    decision.reasons.append("deleting \(failure.key) failed: \(failure.reason)")
                    removed = false
                    break
                }
            }
            if removed { outcome.deleted.append(decision.key) }
        }
        // Segments after archives: whether a segment stays depends on which bases stay.
        let profiles = request.profile.map { [$0] }
            ?? Set((catalog.sealed + catalog.unverified).map(\.profile) + catalog.tombstones.map(\.profile)).sorted()
        for profile in profiles {
            let pruning = try SegmentPruning.run(profile: profile, catalog: catalog, outcome: outcome, signers: request.signers,
                                                 dryRun: request.dryRun, now: request.now, in: store)
            outcome.segments += pruning.runs
            outcome.segmentsDeleted += pruning.deleted
            outcome.failed += pruning.failed
            outcome.locked += pruning.locked
        }
        outcome.decisions.sort { ($0.profile, $1.createdAt) < ($1.profile, $0.createdAt) }
        if !request.dryRun {
            outcome.abortedUploads = try store.removeStaleUploads(under: request.profile.map { $0 + "/" } ?? "", olderThan: request.staleUploadAge)
        }
        return outcome
    }

    /// The archive's key without its `.tar…` suffix, before which its parts' names differ.
    static func stem(of key: String) -> String {
        guard let range = key.range(of: ".tar", options: .backwards) else { return key }
        return String(key[..<range.lowerBound])
    }

    /// `<object>.tombstone`, bound to the seal that stays by its SHA-256.
    /// A note left by an earlier, interrupted prune stays: it records when the removal began.
    static func leaveTombstone(for key: String, in store: ObjectStore, reason: String, at time: Date) throws {
        if try store.presence(of: key + Tombstone.suffix) { return }
        let sealSHA256 = SHA256Hasher.hash(try store.readSmall(key: key + ".seal")).hex
        let object = String(key.split(separator: "/").last ?? "")
        let note = Tombstone(object: object, sealSHA256: sealSHA256, removedAt: StampFormat.rfc3339(time),
                             reason: "retention: " + reason, tool: "pgseal \(PGSealVersion.current)")
        try store.put(key: key + Tombstone.suffix, contents: try note.encoded())
    }

    static func created(_ entry: ArchiveCatalog.Entry) -> Date? {
        ISO8601DateFormatter().date(from: entry.createdAt)
    }
}
