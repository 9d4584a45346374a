import ArchiveFormat
import ArchiveReading
import Cryptography
import Foundation
import ObjectStore

/// The state of a profile's series: each seal's link to the one before it followed and
/// checked, every break named with its place (docs/FORMAT.md, "The series").
public struct ChainState: Encodable, Sendable {
    public struct Break: Codable, Sendable, CustomStringConvertible {
        /// `unverifiable`, `missing`, `altered`, `restart`, `unlinked`, `object-missing`.
        public let kind: String
        /// The archive at which the break shows.
        public let object: String
        public let createdAt: String
        public let detail: String

        public var description: String { "\(kind) at \(object) (\(createdAt)): \(detail)" }

        enum CodingKeys: String, CodingKey {
            case kind, object, detail
            case createdAt = "created_at"
        }
    }

    /// Two seals linking to the same previous one: concurrent exports, or a seal signed
    /// outside the series. Not a break — both verify — but shown.
    public struct Fork: Codable, Sendable {
        public let previous: String
        public let successors: [String]
    }

    public let profile: String
    public var archives = 0
    /// Seals carrying a link (written by pgseal 0.3.0 or later).
    public var chained = 0
    /// Seals written before series were chained, older than the first chained one.
    public var unchained = 0
    public var tombstones = 0
    /// The newest seal of the series.
    public var head: String?
    public var breaks: [Break] = []
    /// Breaks beyond the first 1,000, counted only.
    public var unlistedBreaks = 0
    public var forks: [Fork] = []
    /// The profile's change segments (docs/FORMAT.md §11), and the replay chains they form:
    /// one per base the follower started from.
    public var segments = 0
    public var segmentTombstones = 0
    public var changeChains: [ChangeChain] = []

    public var status: String { breaks.isEmpty ? (archives == 0 ? "empty" : "intact") : "broken" }

    enum CodingKeys: String, CodingKey {
        case profile, archives, chained, unchained, tombstones, head, breaks, forks, status
        case unlistedBreaks = "unlisted_breaks"
        case segments
        case segmentTombstones = "segment_tombstones"
        case changeChains = "change_chains"
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(profile, forKey: .profile)
        try container.encode(status, forKey: .status)
        try container.encode(archives, forKey: .archives)
        try container.encode(chained, forKey: .chained)
        try container.encode(unchained, forKey: .unchained)
        try container.encode(tombstones, forKey: .tombstones)
        try container.encodeIfPresent(head, forKey: .head)
        try container.encode(breaks, forKey: .breaks)
        try container.encode(unlistedBreaks, forKey: .unlistedBreaks)
        try container.encode(forks, forKey: .forks)
        try container.encode(segments, forKey: .segments)
        try container.encode(segmentTombstones, forKey: .segmentTombstones)
        try container.encode(changeChains, forKey: .changeChains)
    }
}

package enum SeriesChain {
    /// Walks each profile's series in `store` (or `profile`'s), reading one seal at a time.
    package static func walk(_ store: ObjectStore, profile: String?, policy: TrustPolicy, since: Date? = nil) throws -> [ChainState] {
        var walkers = Walkers(since: since)
        try SeriesReader.scan(store, profile: profile, policy: policy, verifiers: policy.signers, since: since) { walkers.add($0) }
        for name in walkers.byProfile.keys.sorted() {
            try SegmentReader.scan(store, profile: name, policy: policy, since: since) { walkers.byProfile[name]?.addSegment($0) }
        }
        return walkers.finish()
    }

    /// Walks each profile's entries (from `SeriesReader`, oldest first). With `since`, a link
    /// to an archive older than it leads outside the window read and is no break.
    package static func walk(_ entries: [SeriesEntry], since: Date? = nil) -> [ChainState] {
        var walkers = Walkers(since: since)
        entries.forEach { walkers.add($0) }
        return walkers.finish()
    }

    /// One walker per profile, in the order profiles come.
    private struct Walkers {
        let since: Date?
        var byProfile: [String: ChainWalker] = [:]

        mutating func add(_ entry: SeriesEntry) {
            byProfile[entry.profile, default: ChainWalker(profile: entry.profile, since: since)].add(entry)
        }

        package mutating func finish() -> [ChainState] {
            byProfile.keys.sorted().compactMap { byProfile[$0]?.finish() }
        }
    }
}

/// A profile's series walked as its entries stream by, oldest first. What it keeps per
/// archive is an index entry — the object's name, its seal's digest, whether it was believed —
/// not the seal; breaks are listed up to `maxListed` and counted beyond.
package struct ChainWalker {
    public static let maxListed = 1000

    struct Known {
        var sealSHA256: Digest?
        var believed: Bool
        /// The position a chain of change segments on this archive starts at (its `wal_lsn`).
        var walLSN: String?
        var successors = 0
        var firstSuccessor: String?
    }

    /// A link whose target came later in the stream (a seal sealed after one that started later).
    struct PendingLink {
        let entry: (object: String, createdAt: String)
        let link: SealChain.Link
    }

    var state: ChainState
    let since: Date?
    var known: [String: Known] = [:]
    private var pending: [PendingLink] = []
    private var firstChained: (object: String, createdAt: String)?
    private var earliestBelieved: (object: String, createdAt: String)?
    private var forks: [String: [String]] = [:]
    /// Where the walk of the change segments is (SegmentChain.swift).
    var segmentWalk = SegmentWalkState()
    /// Breaks past `maxListed`, counted only.
    public private(set) var unlistedBreaks = 0

    public init(profile: String, since: Date? = nil) {
        state = ChainState(profile: profile)
        self.since = since
    }

    mutating func breakAt(_ object: String, _ createdAt: String, _ kind: String, _ detail: String) {
        guard state.breaks.count < Self.maxListed else { unlistedBreaks += 1; return }
        state.breaks.append(.init(kind: kind, object: object, createdAt: createdAt, detail: detail))
    }

    package mutating func add(_ entry: SeriesEntry) {
        state.archives += 1
        state.head = entry.object
        if entry.tombstone != nil { state.tombstones += 1 }
        known[entry.object] = Known(sealSHA256: Digest(hex: entry.sealSHA256), believed: entry.seal != nil, walLSN: entry.seal?.walLSN)
        guard let seal = entry.seal else {
            breakAt(entry.object, entry.createdAt, "unverifiable", "its seal does not verify (\(entry.problem ?? "unknown")): nothing it says, its link included, can be believed")
            return
        }
        defer { if earliestBelieved == nil { earliestBelieved = (entry.object, entry.createdAt) } }
        if !entry.objectPresent && entry.tombstone == nil {
            breakAt(entry.object, entry.createdAt, "object-missing", "the object is gone without a tombstone note"
                    + (entry.tombstoneProblem.map { " (\($0))" } ?? "") + ": removed outside pgseal prune")
        }
        guard let chain = seal.chain else {
            if let firstChained, firstChained.createdAt < entry.createdAt {
                breakAt(entry.object, entry.createdAt, "unlinked", "written without a link after the series began at \(firstChained.object): by an older pgseal, or outside the series")
            } else {
                state.unchained += 1
            }
            return
        }
        state.chained += 1
        if firstChained == nil { firstChained = (entry.object, entry.createdAt) }
        guard let link = chain.previous else {
            if let earlier = earliestBelieved, earlier.createdAt < entry.createdAt {
                breakAt(entry.object, entry.createdAt, "restart", "it says it is the first of its series, but \(earlier.object) (\(earlier.createdAt)) is older")
            }
            return
        }
        guard known[link.object] != nil else {
            pending.append(PendingLink(entry: (entry.object, entry.createdAt), link: link))
            return
        }
        follow(link, from: (entry.object, entry.createdAt))
    }

    private mutating func follow(_ link: SealChain.Link, from entry: (object: String, createdAt: String)) {
        guard var previous = known[link.object] else {
            let linkedTime = ArchiveCatalog.time(fromName: link.object).flatMap(StampFormat.date)
            if let since, let linkedTime, linkedTime < since { return }
            breakAt(entry.object, entry.createdAt, "missing", "it links to \(link.object), whose seal is not in the store: removed with its seal, or never replicated here")
            return
        }
        guard let digest = previous.sealSHA256, digest.hex == link.sealSHA256 else {
            breakAt(entry.object, entry.createdAt, "altered", "it links to \(link.object) with seal SHA-256 \(link.sealSHA256), but that seal's SHA-256 is \(previous.sealSHA256?.hex ?? "unreadable"): the seal was replaced")
            return
        }
        guard previous.believed else {
            breakAt(entry.object, entry.createdAt, "unverifiable", "it links to \(link.object), whose seal does not verify")
            return
        }
        previous.successors += 1
        if previous.successors == 1 {
            previous.firstSuccessor = entry.object
        } else {
            forks[link.object, default: previous.firstSuccessor.map { [$0] } ?? []].append(entry.object)
        }
        known[link.object] = previous
    }

    /// The state, once every entry was added.
    public mutating func finish() -> ChainState {
        for link in pending { follow(link.link, from: link.entry) }
        pending = []
        state.forks = forks.sorted { $0.key < $1.key }.map { ChainState.Fork(previous: $0.key, successors: $0.value) }
        state.unlistedBreaks = unlistedBreaks
        return state
    }
}
