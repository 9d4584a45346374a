import Foundation

/// A type an archive's columns depend on that is not built into PostgreSQL (docs/FORMAT.md,
/// section 4.2), in dependency order: what `restore --create-tables` needs to recreate the
/// tables in an empty database, recorded as data — names, labels, field types — never as SQL
/// to run. Domain constraints and defaults are SQL: they are recorded for the record, and a
/// domain that has any is not recreated.
public struct TypeDefinition: Codable, Sendable, Equatable {
    public enum Kind: String, Codable, Sendable {
        case `enum`, composite, domain, `extension`, other
    }

    public struct Field: Codable, Sendable, Equatable {
        public var name: String
        public var type: String

        public init(name: String, type: String) {
            self.name = name
            self.type = type
        }
    }

    public var schema: String
    public var name: String
    public var kind: Kind
    /// enum: the labels in their sort order.
    public var labels: [String]?
    /// composite: the fields in order, types as `format_type` spells them.
    public var fields: [Field]?
    /// domain: the base type, NOT NULL, and its constraints and default as PostgreSQL prints them.
    public var base: String?
    public var notNull: Bool?
    public var checks: [String]?
    public var defaultValue: String?
    /// extension: the extension that provides the type.
    public var `extension`: String?

    public init(schema: String, name: String, kind: Kind) {
        self.schema = schema
        self.name = name
        self.kind = kind
    }

    public var qualifiedName: String { schema + "." + name }

    enum CodingKeys: String, CodingKey {
        case schema, name, kind, labels, fields, base, checks, `extension`
        case notNull = "not_null"
        case defaultValue = "default"
    }
}
