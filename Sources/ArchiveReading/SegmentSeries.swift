import ArchiveFormat
import ArchiveReading
import Cryptography
import Foundation
import ObjectStore

/// The change segments of a profile in a store: the newest, believed only when its signature
/// verifies against the given signers — a follower reads back its own seals, never trusting a
/// document it finds in the store because of where it lies.
package enum SegmentSeries {
    package static let maxSealBytes = 1 << 20
    package static let maxSignatureBytes = 64 << 10

    package struct Tip {
        package let key: String
        package let seal: SealDocument
        package let range: SegmentRange
        package let sealSHA256: String
        package let sequence: Int
        /// The seal keys before this one, newest first, as the listing that found it gave them
        /// (as many as `newest`'s `lookBack` allows): so that looking back lists nothing again.
        let older: ArraySlice<String>
        package var link: SealChain.Link { SealChain.Link(object: seal.object, sealSHA256: sealSHA256) }

        /// The newest commit the profile's segments hold: this segment's `last_commit`, or —
        /// when the newest ones hold no transaction (an idle database) — the nearest older one's,
        /// looking back through the seals `older` holds. Nil when none of them has one.
        package func newestCommit(in store: ObjectStore, profile: String, signers: AllowedSigners) throws -> String? {
            if let last = range.lastCommit { return last }
            for sealKey in older {
                if let last = try SegmentSeries.signedSeal(sealKey, in: store, profile: profile, signers: signers).seal.changes?.lastCommit { return last }
            }
            return nil
        }
    }

    /// A segment's seal read under its bounds and believed: its signature by one of `signers`,
    /// and a change segment of `profile` (`SealProblem` otherwise). Every reader of segment
    /// seals passes here.
    package static func signedSeal(_ sealKey: String, in store: ObjectStore, profile: String, signers: AllowedSigners) throws -> SignedSeal {
        let object = String(sealKey.dropLast(".seal".count).split(separator: "/").last ?? "")
        let signed = try SignedSeal.check(sealBytes: try store.readSmall(key: sealKey, limit: maxSealBytes),
                                          signature: try store.readSmall(key: sealKey + ".sig", limit: maxSignatureBytes),
                                          objectName: object, policy: TrustPolicy(signers: signers))
        guard signed.seal.isChangeSegment, signed.seal.changes != nil, signed.seal.profile == profile else {
            throw SealProblem(location: store.location(of: sealKey), problem: "a seal in the profile's changes folder is not a change segment of profile \(profile)")
        }
        return signed
    }

    /// The profile's segment seals that have their signature, newest first.
    private static func sealKeys(in store: ObjectStore, profile: String) throws -> [String] {
        let listing = try store.list(prefix: SegmentNaming.prefix(profile: profile)).map(\.key)
        let present = Set(listing)
        return listing.filter { $0.hasSuffix(".seal") && present.contains($0 + ".sig") }.sorted(by: >)
    }

    /// The newest complete segment (one with its `.seal.sig`) of `profile`, or nil when none.
    package static func newest(in store: ObjectStore, profile: String, signers: AllowedSigners, lookBack: Int = 1_440) throws -> Tip? {
        let keys = try sealKeys(in: store, profile: profile)
        guard let sealKey = keys.first else { return nil }
        let key = String(sealKey.dropLast(".seal".count))
        let signed = try signedSeal(sealKey, in: store, profile: profile, signers: signers)
        guard let range = signed.seal.changes, let sequence = sequence(ofObject: String(key.split(separator: "/").last ?? "")) else {
            throw SealProblem(location: store.location(of: key), problem: "a change segment's name must end in a 10-digit sequence number")
        }
        return Tip(key: key, seal: signed.seal, range: range, sealSHA256: signed.sha256, sequence: sequence, older: keys.dropFirst().prefix(max(0, lookBack - 1)))
    }

    /// `<profile>-<time>-<NNNNNNNNNN>.tar…` → NNNNNNNNNN.
    package static func sequence(ofObject name: String) -> Int? {
        guard let dot = name.range(of: ".tar") else { return nil }
        let stem = name[..<dot.lowerBound]
        let digits = stem.suffix(10)
        guard digits.utf8.count == 10, digits.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }),
              stem.dropLast(10).hasSuffix("-") else { return nil }
        return Int(digits)
    }

    /// The link to an archive of the store by the SHA-256 of its `.seal` bytes as stored.
    package static func link(toArchive key: String, in store: ObjectStore) throws -> SealChain.Link {
        let bytes = try store.readSmall(key: key + ".seal", limit: maxSealBytes)
        return SealChain.Link(object: String(key.split(separator: "/").last ?? ""), sealSHA256: SHA256Hasher.hash(bytes).hex)
    }
}
