import Foundation
import ObjectStore
import Seal

/// `pgseal prune`: deletes archives past their retention with their sidecars — the seal's
/// signature first, so that an archive pruned halfway is never taken for a sealed one —
/// never the newest `keepLast` sealed archives of a profile, never an object still under
/// Object Lock retention (reported instead), and aborts stale incomplete uploads.
public struct Pruner {
    public struct Request: Sendable {
        public var store: String
        public var keepDays: Int
        public var keepLast: Int
        public var profile: String?
        public var dryRun: Bool
        public var staleUploadAge: TimeInterval
        public var now: Date
        /// Only archives whose seal verifies against these count as sealed: a forged or broken
        /// seal never takes a keep-last place and is never deleted.
        public var signers: AllowedSigners

        public init(store: String, keepDays: Int, keepLast: Int, signers: AllowedSigners, profile: String? = nil, dryRun: Bool = false,
                    staleUploadAge: TimeInterval = 24 * 3600, now: Date = Date()) {
            self.store = store
            self.signers = signers
            self.keepDays = keepDays
            self.keepLast = keepLast
            self.profile = profile
            self.dryRun = dryRun
            self.staleUploadAge = staleUploadAge
            self.now = now
        }
    }

    public struct Outcome: Codable, Sendable {
        public struct Locked: Codable, Sendable {
            public let key: String
            public let until: String
        }
        public struct Failed: Codable, Sendable {
            public let key: String
            public let reason: String
        }
        public var deleted: [String] = []
        public var kept: [String] = []
        /// Archives with a seal that does not verify: left alone, with the reason.
        public var unverified: [Failed] = []
        public var locked: [Locked] = []
        public var failed: [Failed] = []
        public var abortedUploads = 0
        public var dryRun = false

        enum CodingKeys: String, CodingKey {
            case deleted, kept, locked, failed, unverified
            case abortedUploads = "aborted_uploads"
            case dryRun = "dry_run"
        }
    }

    /// Sidecars in deletion order: the signature first, the object last.
    static let deletionOrder = [".seal.sig", ".seal", ".sha256", ""]

    public static func run(_ request: Request) throws -> Outcome {
        try run(request, in: try openStore(request.store))
    }

    /// The same, on a store already open.
    public static func run(_ request: Request, in store: ObjectStore) throws -> Outcome {
        let catalog = try ArchiveCatalog.scan(store, profile: request.profile, signers: request.signers)
        let cutoff = request.now.addingTimeInterval(-Double(request.keepDays) * 86_400)
        var outcome = Outcome(dryRun: request.dryRun)
        outcome.unverified = catalog.unverified.map { .init(key: $0.key, reason: $0.problem ?? "not verified") }
        var candidates: [ArchiveCatalog.Entry] = []
        for profile in Set(catalog.sealed.map(\.profile)).sorted() {
            let archives = catalog.sealed.filter { $0.profile == profile }  // newest first
            for (index, entry) in archives.enumerated() {
                if index < request.keepLast || !isOlder(entry, than: cutoff) { outcome.kept.append(entry.key) } else { candidates.append(entry) }
            }
        }
        // An unsealed object past the retention is the remains of a failed export.
        candidates += catalog.incomplete.filter { isOlder($0, than: cutoff) }
        for entry in candidates {
            if let until = try store.retainedUntil(key: entry.key) {
                outcome.locked.append(.init(key: entry.key, until: until == .distantFuture ? "legal hold" : ISO8601DateFormatter().string(from: until)))
                continue
            }
            if request.dryRun { outcome.deleted.append(entry.key); continue }
            var removed = true
            for suffix in deletionOrder {
                // One call per step: the next step starts only when the previous one is done.
                if let failure = try store.delete(keys: [entry.key + suffix]).first {
                    outcome.failed.append(.init(key: failure.key, reason: failure.reason))
                    removed = false
                    break
                }
            }
            if removed { outcome.deleted.append(entry.key) }
        }
        if !request.dryRun {
            outcome.abortedUploads = try store.removeStaleUploads(under: request.profile.map { $0 + "/" } ?? "", olderThan: request.staleUploadAge)
        }
        return outcome
    }

    static func isOlder(_ entry: ArchiveCatalog.Entry, than cutoff: Date) -> Bool {
        guard let created = ISO8601DateFormatter().date(from: entry.createdAt) else { return false }
        return created < cutoff
    }
}
