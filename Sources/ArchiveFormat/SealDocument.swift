import Foundation

/// `<object>.seal`: what an auditor checks without decrypting — the object's size and SHA-256,
/// the manifest's SHA-256, per-table rows and digests, and who signed. Its detached SSHSIG
/// signature (namespace `pgseal`) is `<object>.seal.sig`. (docs/FORMAT.md, "The seal".)
public struct SealDocument: Codable, Sendable, Equatable {
    public static let formatIdentifier = "pgseal-seal/1"
    /// A partitioned archive's seal (docs/FORMAT.md §10): `parts` instead of one object.
    public static let partitionedFormatIdentifier = "pgseal-seal/2"
    public static let signatureNamespace = "pgseal"
    /// More parts than this are refused when reading (the export makes at most 256).
    public static let maxParts = 1024

    public struct Table: Codable, Sendable, Equatable {
        public var name: String
        public var rows: Int
        public var digest: String

        public init(name: String, rows: Int, digest: String) {
            self.name = name
            self.rows = rows
            self.digest = digest
        }
    }

    public var format: String
    public var object: String
    public var size: Int64
    public var sha256: String
    public var manifestSHA256: String
    public var createdAt: String
    public var profile: String
    public var encryption: String
    public var recipients: [String]
    public var compression: String
    public var snapshot: String
    public var walLSN: String
    /// True when `walLSN` is the consistent point of the logical slot whose snapshot the export
    /// read: the archive holds exactly the transactions committed before it (docs/FORMAT.md
    /// §11.5). Absent otherwise, and then `walLSN` is only near the snapshot.
    public var walLSNExact: Bool?
    public var tables: [Table]
    public var signer: String
    public var tool: String
    /// `files` for an archive of files (`pgseal seal`), whose `tables` is empty; absent for
    /// an archive of tables.
    public var contents: String?
    /// For an archive of files: how many entries (files, directories, links) it holds.
    public var files: Int?
    /// For an archive of tables: the SHA-256 of its `tables.json`, so that a reader can trust
    /// the definitions (keys, filters) when it reads them, before the object's end. Absent in
    /// seals written before it was added.
    public var tablesSHA256: String?
    /// The link to the seal before this one in the profile's series (docs/FORMAT.md, "The
    /// series"). Absent in seals written before series were chained.
    public var chain: SealChain?
    /// How long the export took, from its start to the object's end. Absent in older seals.
    public var durationSeconds: Double?
    /// A partitioned archive's parts, in order (format `pgseal-seal/2` only).
    public var parts: [SealPart]?
    /// A change segment's base, WAL range and counts (`contents` is `changes`; docs/FORMAT.md §11).
    public var changes: SegmentRange?

    public var isFilesArchive: Bool { contents == "files" }
    public var isPartitioned: Bool { parts != nil }
    public var isChangeSegment: Bool { contents == "changes" }

    public init(object: String, size: Int64, sha256: String, manifestSHA256: String, createdAt: String, profile: String,
                encryption: String, recipients: [String], compression: String, snapshot: String, walLSN: String,
                tables: [Table], signer: String, tool: String) {
        self.format = Self.formatIdentifier
        self.object = object
        self.size = size
        self.sha256 = sha256
        self.manifestSHA256 = manifestSHA256
        self.createdAt = createdAt
        self.profile = profile
        self.encryption = encryption
        self.recipients = recipients
        self.compression = compression
        self.snapshot = snapshot
        self.walLSN = walLSN
        self.tables = tables
        self.signer = signer
        self.tool = tool
    }

    enum CodingKeys: String, CodingKey {
        case format, object, size, sha256, profile, encryption, recipients, compression, snapshot, tables, signer, tool, contents, files
        case manifestSHA256 = "manifest_sha256"
        case createdAt = "created_at"
        case walLSN = "wal_lsn"
        case walLSNExact = "wal_lsn_exact"
        case tablesSHA256 = "tables_sha256"
        case chain, parts, changes
        case durationSeconds = "duration_seconds"
    }

    /// The bytes written to `<object>.seal` (and signed).
    public func encoded() throws -> [UInt8] { try DocumentJSON.encoded(self) }

    public static func decode(_ bytes: [UInt8]) throws -> SealDocument {
        let seal = try JSONDecoder().decode(SealDocument.self, from: Data(bytes))
        switch seal.format {
        case formatIdentifier:
            guard seal.parts == nil else { throw ArchiveManifest.ReadError.malformed("a \(formatIdentifier) seal has no parts") }
            guard (seal.contents == "changes") == (seal.changes != nil) else {
                throw ArchiveManifest.ReadError.malformed("a seal has a changes range exactly when its contents are changes")
            }
        case partitionedFormatIdentifier:
            guard let parts = seal.parts, !parts.isEmpty, parts.count <= maxParts else {
                throw ArchiveManifest.ReadError.malformed("a \(partitionedFormatIdentifier) seal needs between 1 and \(maxParts) parts")
            }
        default:
            throw ArchiveManifest.ReadError.malformed("the seal declares format \(seal.format), not \(formatIdentifier) or \(partitionedFormatIdentifier)")
        }
        return seal
    }

    /// The seal a part would have as an archive of its own: what every check of one object
    /// holds the part to. Believed because the partitioned seal that lists it is.
    public func seal(ofPart part: SealPart) -> SealDocument {
        var seal = SealDocument(
            object: part.object, size: part.size, sha256: part.sha256, manifestSHA256: part.manifestSHA256, createdAt: createdAt,
            profile: profile, encryption: encryption, recipients: recipients, compression: compression, snapshot: snapshot,
            walLSN: walLSN, tables: part.tables.map { Table(name: $0.name, rows: $0.rows, digest: $0.digest) }, signer: signer, tool: tool)
        seal.tablesSHA256 = part.tablesSHA256
        return seal
    }
}

/// One part of a partitioned archive: an archive of its own (docs/FORMAT.md §2–§4) holding the
/// key ranges listed per table.
public struct SealPart: Codable, Sendable, Equatable {
    public struct Table: Codable, Sendable, Equatable {
        public var name: String
        public var rows: Int
        public var digest: String
        /// Which rows of the table: a range of its first key column (both ends null: all of it).
        public var range: PartRange

        public init(name: String, rows: Int, digest: String, range: PartRange) {
            self.name = name
            self.rows = rows
            self.digest = digest
            self.range = range
        }
    }

    /// Base name of the part's object, beside the seal.
    public var object: String
    public var size: Int64
    public var sha256: String
    public var manifestSHA256: String
    public var tablesSHA256: String
    public var tables: [Table]

    public init(object: String, size: Int64, sha256: String, manifestSHA256: String, tablesSHA256: String, tables: [Table]) {
        self.object = object
        self.size = size
        self.sha256 = sha256
        self.manifestSHA256 = manifestSHA256
        self.tablesSHA256 = tablesSHA256
        self.tables = tables
    }

    enum CodingKeys: String, CodingKey {
        case object, size, sha256, tables
        case manifestSHA256 = "manifest_sha256"
        case tablesSHA256 = "tables_sha256"
    }
}

/// `from ≤ k < to` on a table's first key column in the export's order, the server's text of
/// each bound; a null end is open. Both ends are always written.
public struct PartRange: Codable, Sendable, Equatable, Hashable {
    public var column: String?
    public var from: String?
    public var to: String?

    public init(column: String?, from: String?, to: String?) {
        self.column = column
        self.from = from
        self.to = to
    }

    public static let whole = PartRange(column: nil, from: nil, to: nil)
    public var isWhole: Bool { from == nil && to == nil }

    enum CodingKeys: String, CodingKey { case column, from, to }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(column, forKey: .column)
        try container.encode(from, forKey: .from)
        try container.encode(to, forKey: .to)
    }
}

/// The form of every document pgseal writes beside an archive (seal, attestation, tombstone
/// note): pretty JSON with sorted keys and a final newline.
public enum DocumentJSON {
    public static func encoded(_ value: some Encodable) throws -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return Array(try encoder.encode(value)) + [0x0A]
    }
}

/// A seal's place in its series: the seal written before it for the same profile in the same
/// store, named and bound by the SHA-256 of its bytes — or `previous: null` for the first.
public struct SealChain: Codable, Sendable, Equatable {
    public struct Link: Codable, Sendable, Equatable {
        /// The previous archive's object name (its base name: unique within a profile).
        public var object: String
        /// SHA-256 of the previous archive's `.seal` bytes, as stored.
        public var sealSHA256: String

        public init(object: String, sealSHA256: String) {
            self.object = object
            self.sealSHA256 = sealSHA256
        }

        enum CodingKeys: String, CodingKey {
            case object
            case sealSHA256 = "seal_sha256"
        }
    }

    public var previous: Link?

    public init(previous: Link?) {
        self.previous = previous
    }

    enum CodingKeys: String, CodingKey { case previous }

    /// `previous` is written even when null: "the first of its series" is a signed statement,
    /// unlike a seal that predates chaining and has no `chain` at all.
    public func encode(to encoder: Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(previous, forKey: .previous)
    }
}
