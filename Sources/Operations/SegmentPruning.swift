import ArchiveFormat
import ArchiveReading
import ChangeCapture
import Cryptography
import Foundation
import ObjectStore

/// Consecutive change segments of one replay chain with one prune decision.
public struct PrunedSegments: Codable, Sendable, Equatable {
    /// The base the chain's segments name.
    public let base: String
    public let first: String
    public var last: String
    public var segments: Int
    public let action: Pruner.Decision.Action
    public let reason: String
}

/// Prune's part for change segments: whole replay chains stay (docs/FORMAT.md §11). A segment
/// goes only when no archive that stays can replay it — its own base is pruned, and no exact
/// base (§11.5) that stays lies in its chain before its end. The newest segment always stays
/// (the follower resumes from it), and so does every segment whose seal does not verify or
/// whose base is not in the store at all: what prune cannot judge, it leaves.
struct SegmentPruning {
    typealias Run = PrunedSegments

    /// Object names of the profile's archives that stay (kept, locked, failed, not verified).
    let staying: Set<String>
    /// Object names of archives pruned now or before (their seals remain as tombstones).
    let pruned: Set<String>
    /// Positions of the exact bases that stay.
    let exactBases: [LSN]
    let dryRun: Bool
    let now: Date

    private var chainStarts: [String: LSN] = [:]
    private(set) var runs: [Run] = []
    private(set) var deleted = 0
    private(set) var failed: [Pruner.Outcome.Failed] = []
    private(set) var locked: [Pruner.Outcome.Locked] = []

    init(staying: Set<String>, pruned: Set<String>, exactBases: [LSN], dryRun: Bool, now: Date) {
        self.staying = staying
        self.pruned = pruned
        self.exactBases = exactBases
        self.dryRun = dryRun
        self.now = now
    }

    /// Decides one segment and carries the decision out; `newest` for the last one of the profile.
    mutating func consider(_ entry: SegmentEntry, newest: Bool, in store: ObjectStore) {
        guard let range = entry.range, let to = LSN(range.toLSN), let from = LSN(range.fromLSN) else {
            record(entry, base: "?", .unverified, "its seal does not verify: never deleted")
            return
        }
        let base = range.base.object
        if chainStarts[base] == nil { chainStarts[base] = from }
        if entry.tombstoned { return }
        var (action, reason) = decide(base: base, chainStart: chainStarts[base] ?? from, end: to, newest: newest)
        if action == .delete {
            (action, reason) = remove(entry, reason: reason, in: store)
        }
        record(entry, base: base, action, reason)
    }

    func decide(base: String, chainStart: LSN, end: LSN, newest: Bool) -> (Pruner.Decision.Action, String) {
        if newest { return (.keep, "the newest segment: the follower resumes from it") }
        if staying.contains(base) { return (.keep, "its base \(base) is kept") }
        if !pruned.contains(base) { return (.keep, "its base \(base) is not in the store: left alone") }
        if let exact = exactBases.filter({ chainStart <= $0 && $0 < end }).min() {
            return (.keep, "a kept exact base at \(exact) replays it")
        }
        return (.delete, "its base \(base) is pruned and no kept base replays it")
    }

    /// Tombstone first, then the `.sha256` and the object, as for an archive.
    private mutating func remove(_ entry: SegmentEntry, reason: String, in store: ObjectStore) -> (Pruner.Decision.Action, String) {
        do {
            if let until = try store.retainedUntil(key: entry.key) {
                let when = until == .distantFuture ? "legal hold" : ISO8601DateFormatter().string(from: until)
                locked.append(.init(key: entry.key, until: when))
                return (.locked, "kept: under retention until \(when)")
            }
            if dryRun { deleted += 1; return (.delete, reason) }
            try Pruner.leaveTombstone(for: entry.key, in: store, reason: reason, at: now)
            for step in Pruner.sealedDeletionOrder.map({ entry.key + $0 }) {
                if let failure = try store.delete(keys: [step]).first {
                    failed.append(.init(key: failure.key, reason: failure.reason))
                    return (.failed, "deleting \(failure.key) failed: \(failure.reason)")
                }
            }
            deleted += 1
            return (.delete, reason)
        } catch {
            failed.append(.init(key: entry.key, reason: "\(error)"))
            return (.failed, "\(error)")
        }
    }

    private mutating func record(_ entry: SegmentEntry, base: String, _ action: Pruner.Decision.Action, _ reason: String) {
        if var run = runs.last, run.base == base, run.action == action, run.reason == reason {
            run.last = entry.object
            run.segments += 1
            runs[runs.count - 1] = run
        } else {
            runs.append(Run(base: base, first: entry.object, last: entry.object, segments: 1, action: action, reason: reason))
        }
    }

    /// Prunes `profile`'s segments, reading them in order with one segment of look-ahead (to
    /// know the newest).
    static func run(profile: String, catalog: ArchiveCatalog, outcome: Pruner.Outcome, signers: AllowedSigners, dryRun: Bool,
                    now: Date, in store: ObjectStore) throws -> SegmentPruning {
        let name = { (key: String) in String(key.split(separator: "/").last ?? "") }
        let removed = Set(outcome.deleted.map(name)).union(catalog.tombstones.filter { $0.profile == profile }.map { name($0.key) })
        let archives = (catalog.sealed + catalog.unverified + catalog.incomplete).filter { $0.profile == profile }
        let staying = Set(archives.map { name($0.key) }).subtracting(removed)
        let exact = catalog.sealed.filter { $0.profile == profile && $0.walLSNExact == true && staying.contains(name($0.key)) }
            .compactMap { entry in entry.walLSN.flatMap { LSN($0) } }
        var pruning = SegmentPruning(staying: staying, pruned: removed, exactBases: exact, dryRun: dryRun, now: now)
        var pending: SegmentEntry?
        try SegmentReader.scan(store, profile: profile, policy: TrustPolicy(signers: signers)) { entry in
            if let previous = pending { pruning.consider(previous, newest: false, in: store) }
            pending = entry
        }
        if let last = pending { pruning.consider(last, newest: true, in: store) }
        return pruning
    }
}
