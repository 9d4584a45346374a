import Foundation

/// `tables.json`, the **first** entry of every archive: the tables' definitions (columns with
/// types and encodings, key, filter) without their counts and digests, which only the manifest
/// at the end can hold. With it a reader knows the rows' keys and types before the first row,
/// so verification and restore each need one pass. It must equal the manifest's definitions.
package struct TableDefinitions: Codable, Sendable, Equatable {
    package static let entryPath = "tables.json"

    package struct Table: Codable, Sendable, Equatable {
        package var schema: String
        package var name: String
        package var columns: [Manifest.Column]
        package var key: [String]
        package var filter: String?

        package init(schema: String, name: String, columns: [Manifest.Column], key: [String], filter: String?) {
            self.schema = schema
            self.name = name
            self.columns = columns
            self.key = key
            self.filter = filter
        }

        package var qualifiedName: String { schema + "." + name }
    }

    package var format: String
    package var tables: [Table]
    /// The types the tables depend on, dependencies first (absent when none).
    package var types: [TypeDefinition]?

    package init(tables: [Table], types: [TypeDefinition]? = nil) {
        self.format = Manifest.formatIdentifier
        self.tables = tables
        self.types = types
    }

    package init(manifest: Manifest) {
        self.init(tables: manifest.tables.map { Table(schema: $0.schema, name: $0.name, columns: $0.columns, key: $0.key, filter: $0.filter) },
                  types: manifest.types)
        format = manifest.format
    }

    package func encoded() throws -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return Array(try encoder.encode(self)) + [0x0A]
    }
}

extension TableDefinitions {
    /// Reads `tables.json` and checks what the readers rely on: the format, unique tables,
    /// unique column names (compared byte by byte, never normalised), key columns among them.
    package static func decode(_ bytes: [UInt8]) throws -> TableDefinitions {
        let definitions = try JSONDecoder().decode(TableDefinitions.self, from: Data(bytes))
        guard Manifest.readableFormats.contains(definitions.format) else {
            throw ArchiveManifest.ReadError.malformed("tables.json declares format \(definitions.format), not one this reader knows")
        }
        var seen = Set<[UInt8]>()
        for table in definitions.tables {
            guard seen.insert(Array(table.qualifiedName.utf8)).inserted else {
                throw ArchiveManifest.ReadError.malformed("table \(table.qualifiedName) is defined twice")
            }
            let names = table.columns.map { Array($0.name.utf8) }
            guard !names.isEmpty, Set(names).count == names.count else {
                throw ArchiveManifest.ReadError.malformed("table \(table.qualifiedName) has no columns, or two with one name")
            }
            guard table.key.allSatisfy({ key in names.contains(Array(key.utf8)) }) else {
                throw ArchiveManifest.ReadError.malformed("table \(table.qualifiedName) has a key column that is not one of its columns")
            }
        }
        return definitions
    }
}
