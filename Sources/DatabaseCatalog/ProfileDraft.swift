import Foundation
import Postgres

/// `pgseal config init`: a first profile written from the database's catalog — every table of
/// the schema with its primary key, and the columns whose names look secret left out and
/// flagged, so that exporting one's own tables starts from a file to read, not a blank page.
package struct ProfileDraft: Sendable {
    package struct Table: Sendable {
        package let name: String
        package let columns: [String]
        package let hasPrimaryKey: Bool
        package let secretLooking: [String]
    }

    package let profile: String
    package let tables: [Table]

    /// What usually holds secrets, case-insensitively: these anywhere in a column's name…
    static let secretParts = ["password", "passwd", "secret", "token", "apikey", "api_key", "private_key"]
    /// …and these as whole words of it (`mfa_seed`, `otp`, but not `footprint`).
    static let secretWords: Set<String> = ["mfa", "otp", "salt", "pin", "totp"]

    package static func isSecretLooking(_ column: String) -> Bool {
        let name = column.lowercased()
        let words = name.split(whereSeparator: { !$0.isLetter && !$0.isNumber })
        return secretParts.contains { name.contains($0) } || words.contains { secretWords.contains(String($0)) }
    }

    /// Reads the ordinary and partitioned tables of `schema` (not partitions themselves).
    package static func read(_ connection: PostgresConnection, schema: String, profile: String) throws -> ProfileDraft {
        let rows = try connection.execute("""
            SELECT c.relname,
                   (SELECT string_agg(a.attname, E'\\n' ORDER BY a.attnum) FROM pg_attribute a
                     WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped),
                   EXISTS (SELECT 1 FROM pg_index i WHERE i.indrelid = c.oid AND i.indisprimary)
            FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE n.nspname = $1 AND c.relkind IN ('r', 'p') AND NOT c.relispartition
            ORDER BY c.relname
            """, [schema]).rows
        let tables = rows.map { row -> Table in
            let columns = (row[1] ?? "").split(separator: "\n").map(String.init)
            return Table(name: (schema == "public" ? "" : schema + ".") + (row[0] ?? ""), columns: columns,
                         hasPrimaryKey: row[2] == "t", secretLooking: columns.filter(isSecretLooking))
        }
        return ProfileDraft(profile: profile, tables: tables)
    }

    /// The config file's text: YAML whose strings are JSON strings (valid YAML), so that any
    /// name is written safely.
    package var yaml: String {
        func quoted(_ text: String) -> String {
            String(decoding: (try? JSONEncoder().encode(text)) ?? Data("\"\"".utf8), as: UTF8.self)
        }
        var lines = [
            "# Written by `pgseal config init` from the catalog: read it, then `pgseal config check --config FILE`.",
            "# Columns whose names look secret are left out (exclude_columns); export one by removing it there.",
            "profile: \(quoted(profile))",
            "profiles:",
            "  - name: \(quoted(profile))",
            "    tables:",
        ]
        for table in tables {
            lines.append("      - table: \(quoted(table.name))")
            if !table.secretLooking.isEmpty {
                lines.append("        exclude_columns: [\(table.secretLooking.map(quoted).joined(separator: ", "))]   # look secret")
            }
            if !table.hasPrimaryKey {
                lines.append("        key: []   # no primary key: compared as a multiset; name unique columns here if it has some")
            }
        }
        return lines.joined(separator: "\n") + "\n"
    }
}
