/// `manifest.json`, the last entry of every archive (docs/FORMAT.md, "manifest.json").
/// This is the reading side; `ManifestWriter` writes the same document as a stream.
public struct Manifest: Codable, Sendable {
    /// What this version writes: `pgseal/2` (docs/FORMAT.md). Readers take both.
    public static let formatIdentifier = "pgseal/2"
    public static let readableFormats: Set<String> = ["pgseal/1", "pgseal/2"]
    public static let entryPath = "manifest.json"

    public var format: String
    public var tool: Tool
    public var createdAt: String
    public var profile: String
    public var source: Source
    public var settings: [String: String]
    public var tables: [Table]

    public struct Tool: Codable, Sendable {
        public var name: String
        public var version: String
        public init(name: String, version: String) {
            self.name = name
            self.version = version
        }
    }

    public struct Source: Codable, Sendable {
        public var database: String
        public var serverVersion: String
        public var snapshot: String
        public var walLSN: String
        public var isolation: String
        public var consistent: Bool

        public init(database: String, serverVersion: String, snapshot: String, walLSN: String) {
            self.database = database
            self.serverVersion = serverVersion
            self.snapshot = snapshot
            self.walLSN = walLSN
            self.isolation = "repeatable read, read only"
            self.consistent = true
        }

        enum CodingKeys: String, CodingKey {
            case database, snapshot, isolation, consistent
            case serverVersion = "server_version"
            case walLSN = "wal_lsn"
        }
    }

    public struct Column: Codable, Sendable, Equatable {
        public var name: String
        /// The declared type as PostgreSQL's `format_type` spells it, e.g. `numeric(12,2)`.
        public var type: String
        /// How values are written: integer, float, numeric, boolean, timestamptz, json-text,
        /// array-text, text (and json, array:… in pgseal/1).
        public var encoding: String
        /// Declared properties (pgseal/2), present only when they hold: NOT NULL; a collation
        /// other than the type's default, as `schema.name` with PostgreSQL's identifier quoting;
        /// identity (`always` or `by default`); a stored generated column's expression — recorded
        /// for the record, never run by a reader.
        public var notNull: Bool?
        public var collation: String?
        public var identity: String?
        public var generated: String?

        public init(name: String, type: String, encoding: String, notNull: Bool? = nil, collation: String? = nil,
                    identity: String? = nil, generated: String? = nil) {
            self.name = name
            self.type = type
            self.encoding = encoding
            self.notNull = notNull
            self.collation = collation
            self.identity = identity
            self.generated = generated
        }

        enum CodingKeys: String, CodingKey {
            case name, type, encoding, collation, identity, generated
            case notNull = "not_null"
        }
    }

    public struct Chunk: Codable, Sendable {
        public var path: String
        public var rows: Int
        public var bytes: Int64
        public var sha256: String
        public var firstKey: [JSONValue]
        public var lastKey: [JSONValue]

        enum CodingKeys: String, CodingKey {
            case path, rows, bytes, sha256
            case firstKey = "first_key"
            case lastKey = "last_key"
        }
    }

    public struct Table: Codable, Sendable {
        public var schema: String
        public var name: String
        public var columns: [Column]
        public var key: [String]
        public var filter: String?
        public var rows: Int
        public var bytes: Int64
        public var digest: String
        public var chunks: [Chunk]

        public var qualifiedName: String { schema + "." + name }
        public var directory: String { "data/\(qualifiedName)/" }
    }

    /// The non-built-in types the tables depend on (pgseal/2; absent when none).
    public var types: [TypeDefinition]?

    enum CodingKeys: String, CodingKey {
        case format, tool, profile, source, settings, tables, types
        case createdAt = "created_at"
    }
}

/// Any JSON value, for the keys recorded in a manifest. Integers keep their exact value.
public enum JSONValue: Codable, Sendable, Equatable, CustomStringConvertible {
    case null
    case bool(Bool)
    case integer(Int64)
    case double(Double)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    public init(from decoder: Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() { self = .null }
        else if let value = try? container.decode(Bool.self) { self = .bool(value) }
        else if let value = try? container.decode(Int64.self) { self = .integer(value) }
        else if let value = try? container.decode(Double.self) { self = .double(value) }
        else if let value = try? container.decode(String.self) { self = .string(value) }
        else if let value = try? container.decode([JSONValue].self) { self = .array(value) }
        else { self = .object(try container.decode([String: JSONValue].self)) }
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .null: try container.encodeNil()
        case .bool(let value): try container.encode(value)
        case .integer(let value): try container.encode(value)
        case .double(let value): try container.encode(value)
        case .string(let value): try container.encode(value)
        case .array(let value): try container.encode(value)
        case .object(let value): try container.encode(value)
        }
    }

    public var description: String {
        switch self {
        case .null: "null"
        case .bool(let value): String(value)
        case .integer(let value): String(value)
        case .double(let value): String(value)
        case .string(let value): value
        case .array(let values): "(" + values.map(\.description).joined(separator: ", ") + ")"
        case .object: "{…}"
        }
    }
}
