import Foundation

/// What a change segment's seal says of the changes it holds (docs/FORMAT.md §11): the base it
/// replays onto, the WAL range it covers, and its counts — all an auditor can check without
/// decrypting it, and all a follower needs to resume.
public struct SegmentRange: Codable, Sendable, Equatable {
    public struct TableCount: Codable, Sendable, Equatable {
        public var name: String
        public var changes: Int

        public init(name: String, changes: Int) {
            self.name = name
            self.changes = changes
        }
    }

    /// The base archive (an ordinary archive of the profile) whose `wal_lsn` starts the chain
    /// this segment belongs to, by name and by the SHA-256 of its `.seal`.
    public var base: SealChain.Link
    /// Every transaction whose commit record starts at or after `fromLSN` and before `toLSN`
    /// is in this segment; no other. `fromLSN` is the previous segment's `toLSN`, or the base's
    /// `wal_lsn` for the first segment.
    public var fromLSN: String
    public var toLSN: String
    public var transactions: Int
    public var changes: Int
    /// The first and last commit times of the segment's transactions (absent when it has none).
    public var firstCommit: String?
    public var lastCommit: String?
    /// When the follower sealed the segment (RFC 3339, UTC): a follower that lives seals at
    /// least every idle interval, so the newest segment's `sealedAt` says how current the chain
    /// is (`check --max-lag`). Absent in segments of pgseal 0.7.0-dev before it was added.
    public var sealedAt: String?
    public var tables: [TableCount]

    public init(base: SealChain.Link, fromLSN: String, toLSN: String, transactions: Int, changes: Int,
                firstCommit: String?, lastCommit: String?, tables: [TableCount]) {
        self.base = base
        self.fromLSN = fromLSN
        self.toLSN = toLSN
        self.transactions = transactions
        self.changes = changes
        self.firstCommit = firstCommit
        self.lastCommit = lastCommit
        self.tables = tables
    }

    enum CodingKeys: String, CodingKey {
        case base, transactions, changes, tables
        case fromLSN = "from_lsn"
        case toLSN = "to_lsn"
        case firstCommit = "first_commit"
        case lastCommit = "last_commit"
        case sealedAt = "sealed_at"
    }
}

/// `manifest.json` of a change segment, its last entry: the range and counts of its seal, and
/// each chunk's lines and SHA-256.
package struct SegmentManifest: Codable, Sendable {
    package static let formatIdentifier = "pgseal-changes/1"

    package struct Chunk: Codable, Sendable, Equatable {
        package var path: String
        package var lines: Int
        package var sha256: String

        package init(path: String, lines: Int, sha256: String) {
            self.path = path
            self.lines = lines
            self.sha256 = sha256
        }
    }

    package var format: String
    package var tool: Manifest.Tool
    package var createdAt: String
    package var profile: String
    package var range: SegmentRange
    package var chunks: [Chunk]

    package init(tool: Manifest.Tool, createdAt: String, profile: String, range: SegmentRange, chunks: [Chunk]) {
        self.format = Self.formatIdentifier
        self.tool = tool
        self.createdAt = createdAt
        self.profile = profile
        self.range = range
        self.chunks = chunks
    }

    enum CodingKeys: String, CodingKey {
        case format, tool, profile, range, chunks
        case createdAt = "created_at"
    }

    package func encoded() throws -> [UInt8] { try DocumentJSON.encoded(self) }
}

/// Where change segments lie: `<profile>/changes/<YYYY>/<MM>/<DD>/<profile>-<time>-<tag>.tar…`
/// — under the profile's folder, where no archive of tables can be (its second part is a
/// year), so that the readers of the profile's archives pass them by.
public enum SegmentNaming {
    public static let folder = "changes"

    public static func prefix(profile: String) -> String { "\(profile)/\(folder)/" }

    /// Whether `key` is a segment's object or one of its documents.
    public static func isSegmentKey(_ key: String) -> Bool {
        let parts = key.split(separator: "/", maxSplits: 2, omittingEmptySubsequences: false)
        return parts.count == 3 && parts[1] == folder
    }

    /// `changes/<NNNNNN>.jsonl`, numbered from 1.
    package static func chunkPath(number: Int) -> String {
        let digits = String(number)
        return "\(folder)/" + String(repeating: "0", count: max(0, 6 - digits.count)) + digits + ".jsonl"
    }

    /// The chunk's number, or nil for any other path.
    package static func chunkNumber(of path: String) -> Int? {
        let parts = path.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, parts[0] == folder, parts[1].utf8.count == 12, parts[1].hasSuffix(".jsonl") else { return nil }
        let digits = parts[1].prefix(6)
        guard digits.utf8.allSatisfy({ (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) }) else { return nil }
        return Int(digits)
    }
}
