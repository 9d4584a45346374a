import ArchiveFormat
import ChangeCapture
import Display
import Foundation

/// One replay chain of a profile's change segments: the segments that name one base, whose
/// WAL ranges follow each other without a gap (docs/FORMAT.md §11). A new chain begins where
/// the follower had to take a new base (its slot lost or dropped, the tables redefined).
public struct ChangeChain: Codable, Sendable {
    public let base: String
    public let fromLSN: String
    public var toLSN: String
    public var segments: Int
    public var tombstones: Int
    public var lastCommit: String?
    public var sealedAt: String?

    enum CodingKeys: String, CodingKey {
        case base, segments, tombstones
        case fromLSN = "from_lsn"
        case toLSN = "to_lsn"
        case lastCommit = "last_commit"
        case sealedAt = "sealed_at"
    }
}

/// What the walk of the segments remembers from one segment to the next.
struct SegmentWalkState {
    var previous: SealChain.Link?
    var previousEnd: LSN?
    /// The chain the last believed segment belongs to: its base, by name and seal.
    var base: SealChain.Link?
    /// The segment before this one did not verify: nothing it said (its range) is believed, so
    /// this one's start is judged against nothing.
    var afterUnverifiable = false
}

extension ChainWalker {
    /// Checks the next segment (in sequence order, after every archive was added): its seal,
    /// its link to the segment before it, its base — an archive of this series, by the SHA-256
    /// of its seal — and, within a chain, that its range starts where the last one ended.
    package mutating func addSegment(_ entry: SegmentEntry) {
        state.segments += 1
        if entry.tombstoned { state.segmentTombstones += 1 }
        let stamp = entry.range?.sealedAt ?? ArchiveCatalog.time(fromName: entry.object) ?? ""
        guard let seal = entry.seal, let range = entry.range, let from = LSN(range.fromLSN), let to = LSN(range.toLSN), from <= to else {
            breakAt(entry.object, stamp, "segment-unverifiable",
                    "the change segment's seal does not verify or its WAL range is not one (\(entry.problem ?? "range")): a replay stops before it")
            segmentWalk = SegmentWalkState(base: segmentWalk.base, afterUnverifiable: true)
            return
        }
        if !entry.objectPresent && !entry.tombstoned {
            breakAt(entry.object, stamp, "object-missing", "the change segment's object is gone without a tombstone note: removed outside pgseal prune")
        }
        if let previous = segmentWalk.previous, seal.chain?.previous != previous {
            breakAt(entry.object, stamp, "segment-link", "it does not link to \(previous.object), the segment before it: a segment was removed, replaced or slipped in")
        }
        // One chain is one base, by name and seal: a segment naming another seal of the same
        // name begins no chain of its own base.
        if var chain = state.changeChains.last, segmentWalk.base == range.base {
            if let end = segmentWalk.previousEnd, from != end {
                breakAt(entry.object, stamp, "lsn-gap",
                        "its changes start at \(from), where the segment before it ended at \(end): \(from > end ? "the changes between were never sealed" : "the ranges overlap")")
            }
            chain.toLSN = range.toLSN
            chain.segments += 1
            chain.tombstones += entry.tombstoned ? 1 : 0
            chain.lastCommit = range.lastCommit ?? chain.lastCommit
            chain.sealedAt = range.sealedAt ?? chain.sealedAt
            state.changeChains[state.changeChains.count - 1] = chain
        } else {
            if let base = known[range.base.object] {
                if base.sealSHA256?.hex != range.base.sealSHA256 {
                    breakAt(entry.object, stamp, "segment-base", "its base \(range.base.object) is in the series with another seal than the one it names: the base was replaced")
                } else if since == nil, !segmentWalk.afterUnverifiable, base.believed, let position = base.walLSN, range.fromLSN != position {
                    breakAt(entry.object, stamp, "lsn-gap", "the first segment of its chain starts at \(from), where its base's position is \(Terminal.escaped(position))")
                }
            } else if !Self.outsideWindow(range.base.object, since: since) {
                breakAt(entry.object, stamp, "segment-base", "its base \(range.base.object) has no seal in the series: its changes replay onto nothing")
            }
            state.changeChains.append(ChangeChain(base: range.base.object, fromLSN: range.fromLSN, toLSN: range.toLSN, segments: 1,
                                                  tombstones: entry.tombstoned ? 1 : 0, lastCommit: range.lastCommit, sealedAt: range.sealedAt))
        }
        segmentWalk = SegmentWalkState(previous: entry.link, previousEnd: to, base: range.base)
    }

    /// With `--since`, a base older than the window was not read, and is no break.
    static func outsideWindow(_ object: String, since: Date?) -> Bool {
        guard let since, let created = ArchiveCatalog.time(fromName: object).flatMap(StampFormat.date) else { return false }
        return created < since
    }
}
