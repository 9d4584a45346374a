import ArchiveFormat
import Display
import Restore
/// What `pgseal verify` found: documented in docs/VERIFY.md, written by `--report F`.
public struct VerificationReport: Codable, Sendable {
    public enum Level: String, Codable, Sendable, CaseIterable {
        case seal, deep, restore
    }

    public struct Failure: Codable, Sendable, CustomStringConvertible {
        /// Where: `seal`, `seal.sig`, `object`, `age`, `tar`, a chunk path, `table public.x`.
        public let location: String
        public let problem: String
        public var description: String { Terminal.escaped("\(location): \(problem)") }
    }

    public struct Table: Codable, Sendable {
        public let name: String
        public let rows: Int
        public let bytes: Int64
        public let digest: String
        public let digestMatches: Bool
        /// At the restore level: whether the rows read back from the scratch database reproduce
        /// the digest.
        public var restoredDigestMatches: Bool?

        enum CodingKeys: String, CodingKey {
            case name, rows, bytes, digest
            case digestMatches = "digest_matches"
            case restoredDigestMatches = "restored_digest_matches"
        }
    }

    /// What the signed seal says of the archive, at every level — what was verified against.
    public struct SealFacts: Codable, Sendable {
        public var profile: String
        public var createdAt: String
        public var snapshot: String
        public var walLSN: String
        public var tool: String
        public var sealSHA256: String
        public var tables: [SealDocument.Table]
        public var chain: SealChain?

        enum CodingKeys: String, CodingKey {
            case profile, snapshot, tool, tables, chain
            case createdAt = "created_at"
            case walLSN = "wal_lsn"
            case sealSHA256 = "seal_sha256"
        }
    }

    /// At the restore level to a point (`until`, `untilArchive`): what the base's change
    /// segments replayed in the scratch database, and its tables as they stood at that point —
    /// against a later base at an exact position, whether they are that base's (continuity).
    public struct PointInTime: Codable, Sendable {
        public struct Table: Codable, Sendable {
            public let name: String
            public let rows: Int
            public let digest: String
            /// The later base's sealed rows and digest of the table, and whether they are these.
            public var expectedRows: Int?
            public var expectedDigest: String?
            public var matches: Bool?

            enum CodingKeys: String, CodingKey {
                case name, rows, digest, matches
                case expectedRows = "expected_rows"
                case expectedDigest = "expected_digest"
            }
        }

        public var target: String
        public var replayed: ReplayResult
        /// The later base (its location) whose sealed digests the tables were held to.
        public var against: String?
        public var tables: [Table] = []
        /// With a live database (`diff --replay`): each table compared with it, row by row, in
        /// the exact snapshot whose position the replay stopped before.
        public var live: [DiffReport.Table]?
    }

    public var archive: String
    public var level: Level
    public var pointInTime: PointInTime?
    /// When this verification began (RFC 3339, UTC).
    public var verifiedAt: String = ""
    /// The fingerprints of the keys the seal was checked against.
    public var trustedKeys: [String] = []
    public var seal: SealFacts?
    /// Where the signed attestation of this result was recorded (`verify --attest-key`).
    public var attestation: String?
    public var signer: String?
    public var objectBytes: Int64 = 0
    public var objectSHA256: String?
    public var tables: [Table] = []
    public var failures: [Failure] = []
    /// Seconds per phase: `read` (seal, hash, decrypt, walk), `load`, `compare`.
    public var phases: [String: Double] = [:]
    /// The scratch database used at the restore level (dropped unless kept).
    public var scratchDatabase: String?
    /// What the reader could not check, or what the archive's format cannot tell — not failures.
    public var notes: [String] = []
    /// Scratch databases of killed verifications that this one removed first.
    public var staleScratchRemoved: [String] = []
    public var seconds: Double = 0

    public var ok: Bool { failures.isEmpty }

    public init(archive: String, level: Level) {
        self.archive = archive
        self.level = level
    }

    public mutating func fail(_ location: String, _ problem: String) {
        failures.append(Failure(location: location, problem: problem))
    }

    enum CodingKeys: String, CodingKey {
        case archive, level, signer, tables, failures, seconds, ok, phases, notes, seal, attestation
        case verifiedAt = "verified_at"
        case trustedKeys = "trusted_keys"
        case scratchDatabase = "scratch_database"
        case staleScratchRemoved = "stale_scratch_removed"
        case objectBytes = "object_bytes"
        case objectSHA256 = "object_sha256"
        case pointInTime = "point_in_time"
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(archive, forKey: .archive)
        try container.encode(level, forKey: .level)
        try container.encode(ok, forKey: .ok)
        try container.encode(verifiedAt, forKey: .verifiedAt)
        try container.encode(trustedKeys, forKey: .trustedKeys)
        try container.encodeIfPresent(seal, forKey: .seal)
        try container.encodeIfPresent(attestation, forKey: .attestation)
        try container.encodeIfPresent(signer, forKey: .signer)
        try container.encode(objectBytes, forKey: .objectBytes)
        try container.encodeIfPresent(objectSHA256, forKey: .objectSHA256)
        try container.encode(tables, forKey: .tables)
        try container.encodeIfPresent(pointInTime, forKey: .pointInTime)
        try container.encode(failures, forKey: .failures)
        try container.encode(phases, forKey: .phases)
        try container.encodeIfPresent(scratchDatabase, forKey: .scratchDatabase)
        try container.encode(staleScratchRemoved, forKey: .staleScratchRemoved)
        try container.encode(notes, forKey: .notes)
        try container.encode(seconds, forKey: .seconds)
    }

    public init(from decoder: Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        archive = try container.decode(String.self, forKey: .archive)
        level = try container.decode(Level.self, forKey: .level)
        signer = try container.decodeIfPresent(String.self, forKey: .signer)
        verifiedAt = try container.decodeIfPresent(String.self, forKey: .verifiedAt) ?? ""
        trustedKeys = try container.decodeIfPresent([String].self, forKey: .trustedKeys) ?? []
        seal = try container.decodeIfPresent(SealFacts.self, forKey: .seal)
        attestation = try container.decodeIfPresent(String.self, forKey: .attestation)
        objectBytes = try container.decode(Int64.self, forKey: .objectBytes)
        objectSHA256 = try container.decodeIfPresent(String.self, forKey: .objectSHA256)
        tables = try container.decode([Table].self, forKey: .tables)
        pointInTime = try container.decodeIfPresent(PointInTime.self, forKey: .pointInTime)
        failures = try container.decode([Failure].self, forKey: .failures)
        phases = try container.decodeIfPresent([String: Double].self, forKey: .phases) ?? [:]
        scratchDatabase = try container.decodeIfPresent(String.self, forKey: .scratchDatabase)
        staleScratchRemoved = try container.decodeIfPresent([String].self, forKey: .staleScratchRemoved) ?? []
        notes = try container.decodeIfPresent([String].self, forKey: .notes) ?? []
        seconds = try container.decode(Double.self, forKey: .seconds)
    }
}
