/// `manifest.json`, the last entry of every archive (docs/FORMAT.md, "manifest.json").
/// This is the reading side; `ManifestWriter` writes the same document as a stream.
package struct Manifest: Codable, Sendable {
    /// What this version writes: `pgseal/2` (docs/FORMAT.md). Readers take both.
    package static let formatIdentifier = "pgseal/2"
    package static let readableFormats: Set<String> = ["pgseal/1", "pgseal/2"]
    package static let entryPath = "manifest.json"

    package var format: String
    package var tool: Tool
    package var createdAt: String
    package var profile: String
    package var source: Source
    package var settings: [String: String]
    package var tables: [Table]

    package struct Tool: Codable, Sendable {
        package var name: String
        package var version: String
        package init(name: String, version: String) {
            self.name = name
            self.version = version
        }
    }

    package struct Source: Codable, Sendable {
        package var database: String
        package var serverVersion: String
        package var snapshot: String
        package var walLSN: String
        /// As the seal's `wal_lsn_exact`: the snapshot is a logical slot's, `walLSN` its consistent point.
        package var walLSNExact: Bool?
        package var isolation: String
        package var consistent: Bool

        package init(database: String, serverVersion: String, snapshot: String, walLSN: String) {
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
            case walLSNExact = "wal_lsn_exact"
        }
    }

    package struct Column: Codable, Sendable, Equatable {
        package var name: String
        /// The declared type as PostgreSQL's `format_type` spells it, e.g. `numeric(12,2)`.
        package var type: String
        /// How values are written: integer, float, numeric, boolean, timestamptz, json-text,
        /// array-text, text (and json, array:… in pgseal/1).
        package var encoding: String
        /// Declared properties (pgseal/2), present only when they hold: NOT NULL; a collation
        /// other than the type's default, as `schema.name` with PostgreSQL's identifier quoting;
        /// identity (`always` or `by default`); a stored generated column's expression — recorded
        /// for the record, never run by a reader.
        package var notNull: Bool?
        package var collation: String?
        package var identity: String?
        package var generated: String?

        package init(name: String, type: String, encoding: String, notNull: Bool? = nil, collation: String? = nil,
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

    package struct Chunk: Codable, Sendable {
        package var path: String
        package var rows: Int
        package var bytes: Int64
        package var sha256: String
        package var firstKey: [JSONValue]
        package var lastKey: [JSONValue]

        enum CodingKeys: String, CodingKey {
            case path, rows, bytes, sha256
            case firstKey = "first_key"
            case lastKey = "last_key"
        }
    }

    package struct Table: Codable, Sendable {
        package var schema: String
        package var name: String
        package var columns: [Column]
        package var key: [String]
        package var filter: String?
        package var rows: Int
        package var bytes: Int64
        package var digest: String
        package var chunks: [Chunk]

        package var qualifiedName: String { schema + "." + name }
        package var directory: String { "data/\(qualifiedName)/" }
    }

    /// The non-built-in types the tables depend on (pgseal/2; absent when none).
    package var types: [TypeDefinition]?

    enum CodingKeys: String, CodingKey {
        case format, tool, profile, source, settings, tables, types
        case createdAt = "created_at"
    }
}

/// Any JSON value, for the keys recorded in a manifest. Integers keep their exact value.
package enum JSONValue: Codable, Sendable, Equatable, CustomStringConvertible {
    case null
    case bool(Bool)
    case integer(Int64)
    case double(Double)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    package init(from decoder: Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() { self = .null }
        else if let value = try? container.decode(Bool.self) { self = .bool(value) }
        else if let value = try? container.decode(Int64.self) { self = .integer(value) }
        else if let value = try? container.decode(Double.self) { self = .double(value) }
        else if let value = try? container.decode(String.self) { self = .string(value) }
        else if let value = try? container.decode([JSONValue].self) { self = .array(value) }
        else { self = .object(try container.decode([String: JSONValue].self)) }
    }

    package func encode(to encoder: Encoder) throws {
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

    package var description: String {
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
