import Archive
import Foundation

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
    public var forks: [Fork] = []

    public var status: String { breaks.isEmpty ? (archives == 0 ? "empty" : "intact") : "broken" }

    enum CodingKeys: String, CodingKey {
        case profile, archives, chained, unchained, tombstones, head, breaks, forks, status
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
        try container.encode(forks, forKey: .forks)
    }
}

public enum SeriesChain {
    /// Walks each profile's entries (from `SeriesReader`, oldest first). With `since`, a link
    /// to an archive older than it leads outside the window read and is no break.
    public static func walk(_ entries: [SeriesEntry], since: Date? = nil) -> [ChainState] {
        Dictionary(grouping: entries, by: \.profile).keys.sorted().map { profile in
            walk(profile: profile, entries.filter { $0.profile == profile }, since: since)
        }
    }

    static func walk(profile: String, _ entries: [SeriesEntry], since: Date?) -> ChainState {
        var state = ChainState(profile: profile)
        state.archives = entries.count
        state.head = entries.last?.object
        let byObject = Dictionary(entries.map { ($0.object, $0) }, uniquingKeysWith: { first, _ in first })
        let firstChained = entries.first { $0.seal?.chain != nil }
        var successors: [String: [String]] = [:]
        func breakAt(_ entry: SeriesEntry, _ kind: String, _ detail: String) {
            state.breaks.append(.init(kind: kind, object: entry.object, createdAt: entry.createdAt, detail: detail))
        }
        for entry in entries {
            if entry.tombstone != nil { state.tombstones += 1 }
            guard let seal = entry.seal else {
                breakAt(entry, "unverifiable", "its seal does not verify (\(entry.problem ?? "unknown")): nothing it says, its link included, can be believed")
                continue
            }
            if !entry.objectPresent && entry.tombstone == nil {
                breakAt(entry, "object-missing", "the object is gone without a tombstone note"
                        + (entry.tombstoneProblem.map { " (\($0))" } ?? "") + ": removed outside pgseal prune")
            }
            guard let chain = seal.chain else {
                if let firstChained, firstChained.createdAt < entry.createdAt {
                    breakAt(entry, "unlinked", "written without a link after the series began at \(firstChained.object): by an older pgseal, or outside the series")
                } else {
                    state.unchained += 1
                }
                continue
            }
            state.chained += 1
            guard let link = chain.previous else {
                if let earlier = entries.first(where: { $0.createdAt < entry.createdAt && $0.seal != nil }) {
                    breakAt(entry, "restart", "it says it is the first of its series, but \(earlier.object) (\(earlier.createdAt)) is older")
                }
                continue
            }
            guard let previous = byObject[link.object] else {
                let linkedTime = ArchiveCatalog.time(fromName: link.object).flatMap(StampFormat.date)
                if let since, let linkedTime, linkedTime < since { continue }
                breakAt(entry, "missing", "it links to \(link.object), whose seal is not in the store: removed with its seal, or never replicated here")
                continue
            }
            guard previous.sealSHA256 == link.sealSHA256 else {
                breakAt(entry, "altered", "it links to \(link.object) with seal SHA-256 \(link.sealSHA256), but that seal's SHA-256 is \(previous.sealSHA256): the seal was replaced")
                continue
            }
            if previous.seal == nil {
                breakAt(entry, "unverifiable", "it links to \(link.object), whose seal does not verify")
                continue
            }
            successors[link.object, default: []].append(entry.object)
        }
        state.forks = successors.filter { $0.value.count > 1 }.sorted { $0.key < $1.key }.map { ChainState.Fork(previous: $0.key, successors: $0.value) }
        return state
    }
}
