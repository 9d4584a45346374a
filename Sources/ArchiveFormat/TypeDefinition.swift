import Foundation

/// A type an archive's columns depend on that is not built into PostgreSQL (docs/FORMAT.md,
/// section 4.2), in dependency order: what `restore --create-tables` needs to recreate the
/// tables in an empty database, recorded as data — names, labels, field types — never as SQL
/// to run. Domain constraints and defaults are SQL: they are recorded for the record, and a
/// domain that has any is not recreated.
package struct TypeDefinition: Codable, Sendable, Equatable {
    package enum Kind: String, Codable, Sendable {
        case `enum`, composite, domain, `extension`, other
    }

    package struct Field: Codable, Sendable, Equatable {
        package var name: String
        package var type: String

        package init(name: String, type: String) {
            self.name = name
            self.type = type
        }
    }

    package var schema: String
    package var name: String
    package var kind: Kind
    /// enum: the labels in their sort order.
    package var labels: [String]?
    /// composite: the fields in order, types as `format_type` spells them.
    package var fields: [Field]?
    /// domain: the base type, NOT NULL, and its constraints and default as PostgreSQL prints them.
    package var base: String?
    package var notNull: Bool?
    package var checks: [String]?
    package var defaultValue: String?
    /// extension: the extension that provides the type.
    package var `extension`: String?

    package init(schema: String, name: String, kind: Kind) {
        self.schema = schema
        self.name = name
        self.kind = kind
    }

    package var qualifiedName: String { schema + "." + name }

    enum CodingKeys: String, CodingKey {
        case schema, name, kind, labels, fields, base, checks, `extension`
        case notNull = "not_null"
        case defaultValue = "default"
    }
}
