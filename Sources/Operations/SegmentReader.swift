import ArchiveFormat
import ArchiveReading
import Cryptography
import Foundation
import ObjectStore

/// One change segment as its signed seal and what lies beside it tell (docs/FORMAT.md §11) —
/// read from the listing and the small files only, never the object.
package struct SegmentEntry: Sendable {
    package let key: String
    package let object: String
    /// The 10-digit sequence number that ends its name; nil when the name has none.
    package let sequence: Int?
    /// SHA-256 of the `.seal` bytes as stored: what the next segment's link binds to.
    package let sealSHA256: String
    /// The seal, when its signature verified and it is a change segment of the profile.
    package let seal: SealDocument?
    package let problem: String?
    package let objectPresent: Bool
    /// Removed by `prune`: its seal, signature and a tombstone note stay.
    package let tombstoned: Bool

    package var range: SegmentRange? { seal?.changes }
    package var link: SealChain.Link { SealChain.Link(object: object, sealSHA256: sealSHA256) }
}

/// Reads a profile's change segments in their order (by sequence number), one seal at a time.
package enum SegmentReader {
    /// The most segments read at once: a year of one-minute segments is 525,600.
    package static let maxSegments = 2_000_000

    package static func scan(_ store: ObjectStore, profile: String, policy: TrustPolicy, since: Date? = nil,
                             _ body: (SegmentEntry) throws -> Void) throws {
        let listing = try store.list(prefix: SegmentNaming.prefix(profile: profile)).map(\.key)
        let present = Set(listing)
        let sealKeys = listing.filter { $0.hasSuffix(".seal") && present.contains($0 + ".sig") }
        guard sealKeys.count <= maxSegments else {
            throw SeriesReader.Failure(description: "\(sealKeys.count) change segments under \(store.location(of: SegmentNaming.prefix(profile: profile))), more than the \(maxSegments) read at once")
        }
        let ordered = sealKeys.map { key -> (sequence: Int?, key: String) in
            let object = String(key.dropLast(".seal".count).split(separator: "/").last ?? "")
            return (SegmentSeries.sequence(ofObject: object), key)
        }.sorted { ($0.sequence ?? Int.max, $0.key) < ($1.sequence ?? Int.max, $1.key) }
        for (sequence, sealKey) in ordered {
            let key = String(sealKey.dropLast(".seal".count))
            let object = String(key.split(separator: "/").last ?? "")
            if let since, let stamp = ArchiveCatalog.time(fromName: object).flatMap(StampFormat.date), stamp < since { continue }
            try body(entry(key: key, object: object, sequence: sequence, profile: profile, in: store, present: present, policy: policy))
        }
    }

    static func entry(key: String, object: String, sequence: Int?, profile: String, in store: ObjectStore, present: Set<String>,
                      policy: TrustPolicy) -> SegmentEntry {
        var sealSHA256 = ""
        var seal: SealDocument?
        var problem: String?
        do {
            let signed = try SegmentSeries.signedSeal(key + ".seal", in: store, profile: profile, signers: policy.signers)
            sealSHA256 = signed.sha256
            seal = signed.seal
        } catch {
            problem = "\(error)"
        }
        return SegmentEntry(key: key, object: object, sequence: sequence, sealSHA256: sealSHA256, seal: seal, problem: problem,
                            objectPresent: present.contains(key), tombstoned: present.contains(key + Tombstone.suffix))
    }
}
