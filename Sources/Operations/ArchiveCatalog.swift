import ArchiveFormat
import ArchiveReading
import Cryptography
import Display
import Foundation
import ObjectStore

/// What a store holds: sealed archives (an object with its `.seal` and `.seal.sig`) and, apart,
/// incomplete ones (no signed seal: an interrupted or unsigned export), read from the listing
/// and the seals — no object is opened.
public struct ArchiveCatalog: Sendable, Codable {
    public struct Entry: Codable, Sendable {
        public let key: String
        public let location: String
        public let profile: String
        public let createdAt: String
        public let bytes: Int64
        public let sealed: Bool
        public let trust: Trust
        /// Why the seal was not believed, for `invalid`.
        public let problem: String?
        public let rows: [String: Int]
        public let signer: String?
        /// For an archive of files (`pgseal seal`): how many entries it holds.
        public let files: Int?
        /// The WAL position the seal records, and whether it is exact (a base any replay chain
        /// covering it can start from, docs/FORMAT.md §11.5).
        public let walLSN: String?
        public let walLSNExact: Bool?

        /// The tables' rows added up; nil when a (signed but hostile) seal's counts do not fit.
        public var totalRows: Int? { rows.values.checkedSum() }

        enum CodingKeys: String, CodingKey {
            case key, location, profile, bytes, sealed, trust, problem, rows, signer, files
            case createdAt = "created_at"
            case walLSN = "wal_lsn"
            case walLSNExact = "wal_lsn_exact"
        }
    }

    /// A multipart upload (or partial file) not completed: running now, or left by a killed export.
    public struct Upload: Codable, Sendable {
        public let key: String
        public let startedAt: String

        enum CodingKeys: String, CodingKey {
            case key
            case startedAt = "started_at"
        }
    }

    /// How far an archive's seal was believed.
    public enum Trust: String, Codable, Sendable {
        /// The seal's signature verified against the trusted signers.
        case verified
        /// A seal and signature are there but were not checked (no trusted signers given).
        case unverified
        /// The seal or its signature does not verify.
        case invalid
        /// No signed seal.
        case none
    }

    /// Archives whose seal verifies against the trusted signers.
    public var sealed: [Entry] = []
    /// Archives with a seal and signature that were not, or could not be, verified: never
    /// counted as sealed, never deleted, never the newest of a profile.
    public var unverified: [Entry] = []
    public var incomplete: [Entry] = []
    public var uploads: [Upload] = []
    /// Seals (with their signatures) whose object `prune` removed: the series' record of them.
    /// Not read here — `pgseal chain` and `pgseal report` check them.
    public var tombstones: [Tombstoned] = []

    public struct Tombstoned: Codable, Sendable {
        public let key: String
        public let profile: String
        public let createdAt: String

        enum CodingKeys: String, CodingKey {
            case key, profile
            case createdAt = "created_at"
        }
    }

    /// Each profile's change segments (pgseal follow, docs/FORMAT.md §11), counted from the
    /// listing; the newest one's seal read and, with trusted signers, verified.
    public var changes: [ChangesSummary] = []

    public struct ChangesSummary: Codable, Sendable {
        public let profile: String
        /// Segments with a seal and signature; `tombstones` of them pruned.
        public let segments: Int
        public let tombstones: Int
        public let newest: String?
        public let sealedAt: String?
        public let sealedLSN: String?
        public let lastCommit: String?
        public let problem: String?

        enum CodingKeys: String, CodingKey {
            case profile, segments, tombstones, newest, problem
            case sealedAt = "sealed_at"
            case sealedLSN = "sealed_lsn"
            case lastCommit = "last_commit"
        }
    }

    static let archiveSuffixes = [".tar.zst.age", ".tar.gz.age", ".tar.age", ".tar.zst", ".tar.gz", ".tar"]

    /// Scans the store, newest first; only `profile`'s archives when given. Each seal's
    /// signature is checked against `signers`; without them, no archive counts as sealed.
    package static func scan(_ store: ObjectStore, profile: String? = nil, signers: AllowedSigners?) throws -> ArchiveCatalog {
        // Change segments are read by their own readers (docs/FORMAT.md §11), never as archives.
        let listing = try store.list(prefix: profile.map { $0 + "/" } ?? "")
        let objects = listing.filter { !SegmentNaming.isSegmentKey($0.key) }
        let sizes = Dictionary(objects.map { ($0.key, $0.size) }, uniquingKeysWith: { a, _ in a })
        var catalog = ArchiveCatalog()
        // A partitioned archive is one entry: its parts' sizes summed under the archive's key,
        // which has a seal but no object of its own (docs/FORMAT.md §10).
        // Sizes come from the store's listing: held at Int64.max rather than trapping.
        var partitioned: [String: Int64] = [:]
        var candidates: [(key: String, size: Int64)] = []
        for (key, size) in objects where archiveSuffixes.contains(where: { key.hasSuffix($0) }) {
            if let archive = PartNaming.archiveKey(ofPart: key) {
                partitioned[archive] = [partitioned[archive] ?? 0, size].saturatingSum()
            } else {
                candidates.append((key, size))
            }
        }
        candidates += partitioned.filter { sizes[$0.key] == nil }.map { ($0.key, $0.value) }
        for (key, size) in candidates {
            let name = (key as NSString).lastPathComponent
            let profileName = String(key.split(separator: "/").first ?? "")
            let signed = sizes[key + ".seal.sig"] != nil && sizes[key + ".seal"] != nil
            var seal: SealDocument?
            var trust: Trust = signed ? .unverified : .none
            var problem: String?
            if signed, let signers {
                do {
                    let opened = try GatedArchive.open(ArchiveLocation(store: store, key: key), policy: TrustPolicy(signers: signers)).seal
                    // A genuine archive of another profile copied into this folder is not this
                    // profile's: "the newest of B" must never pick an archive sealed for A.
                    if let opened { try MisplacedArchive.check(opened, key: key) }
                    seal = opened
                    trust = .verified
                } catch {
                    trust = .invalid
                    problem = "\(error)"
                }
            }
            let entry = Entry(
                key: key, location: store.location(of: key), profile: seal?.profile ?? profileName,
                createdAt: seal?.createdAt ?? Self.time(fromName: name) ?? "", bytes: size, sealed: seal != nil,
                trust: trust, problem: problem,
                rows: Dictionary((seal?.tables ?? []).map { ($0.name, $0.rows) }, uniquingKeysWith: { a, _ in a }), signer: seal?.signer,
                files: seal?.files, walLSN: seal?.walLSN, walLSNExact: seal?.walLSNExact)
            switch trust {
            case .verified: catalog.sealed.append(entry)
            case .none: catalog.incomplete.append(entry)
            case .unverified, .invalid: catalog.unverified.append(entry)
            }
        }
        for (key, _) in objects where key.hasSuffix(".seal") && sizes[key + ".sig"] != nil {
            let object = String(key.dropLast(".seal".count))
            guard sizes[object] == nil, partitioned[object] == nil else { continue }
            catalog.tombstones.append(Tombstoned(key: object, profile: String(object.split(separator: "/").first ?? ""),
                                                 createdAt: Self.time(fromName: (object as NSString).lastPathComponent) ?? ""))
        }
        catalog.tombstones.sort { $0.createdAt > $1.createdAt }
        catalog.uploads = try store.pendingUploads(under: profile.map { $0 + "/" } ?? "")
            .map { Upload(key: $0.key, startedAt: ISO8601DateFormatter().string(from: $0.started)) }
            .sorted { $0.startedAt > $1.startedAt }
        catalog.changes = try changes(in: listing.map(\.key).filter(SegmentNaming.isSegmentKey), store: store, signers: signers)
        catalog.sealed.sort { $0.createdAt > $1.createdAt }
        catalog.unverified.sort { $0.createdAt > $1.createdAt }
        catalog.incomplete.sort { $0.createdAt > $1.createdAt }
        return catalog
    }

    static func changes(in keys: [String], store: ObjectStore, signers: AllowedSigners?) throws -> [ChangesSummary] {
        let present = Set(keys)
        let seals = keys.filter { $0.hasSuffix(".seal") && present.contains($0 + ".sig") }
        return Dictionary(grouping: seals) { String($0.split(separator: "/").first ?? "") }.sorted { $0.key < $1.key }.map { profile, seals in
            let tombstones = seals.filter { present.contains(String($0.dropLast(".seal".count)) + Tombstone.suffix) }.count
            var newest: String?
            var range: SegmentRange?
            var lastCommit: String?
            var problem: String?
            if let signers {
                do {
                    if let tip = try SegmentSeries.newest(in: store, profile: profile, signers: signers) {
                        newest = store.location(of: tip.key)
                        range = tip.range
                        lastCommit = try tip.newestCommit(in: store, profile: profile, signers: signers)
                    }
                } catch {
                    problem = "\(error)"
                }
            } else {
                newest = seals.max().map { store.location(of: String($0.dropLast(".seal".count))) }
                problem = "not verified: no trusted signers given"
            }
            return ChangesSummary(profile: profile, segments: seals.count, tombstones: tombstones, newest: newest, sealedAt: range?.sealedAt,
                                  sealedLSN: range?.toLSN, lastCommit: lastCommit, problem: problem)
        }
    }

    /// A seal that verifies, but names another profile than the folder it lies in.
    struct MisplacedArchive: Error, CustomStringConvertible {
        let sealedFor: String
        let folder: String

        /// An archive's seal must name the profile whose folder (the key's first component) it
        /// lies in. An archive at the store's root (a copy handed over by itself) lies in no
        /// profile's folder, so no folder can claim it.
        static func check(_ seal: SealDocument, key: String) throws {
            let components = key.split(separator: "/")
            guard components.count > 1, let folder = components.first.map(String.init) else { return }
            guard seal.profile == folder else { throw MisplacedArchive(sealedFor: seal.profile, folder: folder) }
        }
        var description: String {
            "its seal is signed for profile \(Terminal.escaped(sealedFor)), but it lies under \(Terminal.escaped(folder))/: a copy from another profile's folder, not an archive of \(Terminal.escaped(folder))"
        }
    }

    /// `<profile>-20261124T020000Z.tar…` → `2026-11-24T02:00:00Z`.
    static func time(fromName name: String) -> String? {
        guard let range = name.range(of: #"\d{8}T\d{6}Z"#, options: .regularExpression) else { return nil }
        let t = Array(name[range])
        guard t.count == 16 else { return nil }
        return "\(String(t[0..<4]))-\(String(t[4..<6]))-\(String(t[6..<8]))T\(String(t[9..<11])):\(String(t[11..<13])):\(String(t[13..<15]))Z"
    }
}
