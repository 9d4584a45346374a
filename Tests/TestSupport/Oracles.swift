import Foundation

/// One table of what a test exports, stated by the test: the same value writes the profile's
/// YAML and tells the oracles what to expect, so that no oracle reads pgseal's own manifest
/// for what was asked.
public struct ExportedTable: Encodable, Sendable {
    public let table: String
    public let columns: [String]?
    public let filter: String?
    public let key: [String]?

    public init(_ table: String, columns: [String]? = nil, filter: String? = nil, key: [String]? = nil) {
        self.table = table
        self.columns = columns
        self.filter = filter
        self.key = key
    }

    /// The built-in profile `kessan-user-data`, as README.md describes it (users without their secrets, active rows only).
    public static let kessanUserData = [
        ExportedTable("public.users", columns: ["id", "email", "email_verified", "created_at", "updated_at", "is_active"], filter: "is_active"),
        ExportedTable("public.user_profiles", columns: ["user_id", "display_name", "timezone", "notification_preferences", "created_at", "updated_at"]),
        ExportedTable("public.user_watchlist", columns: ["user_id", "ticker", "notes", "added_at"]),
        ExportedTable("public.user_subscriptions", columns: ["id", "user_id", "plan_id", "status", "current_period_start", "current_period_end", "created_at"],
                      filter: "status = 'active'"),
    ]

    /// A config file holding one profile of `tables`.
    public static func config(profile: String, tables: [ExportedTable], at path: String) throws {
        var yaml = "profiles:\n  - name: \(profile)\n    tables:\n"
        for table in tables {
            yaml += "      - table: \(table.table)\n"
            if let columns = table.columns { yaml += "        columns: [\(columns.joined(separator: ", "))]\n" }
            if let filter = table.filter { yaml += "        filter: \"\(filter)\"\n" }
            if let key = table.key { yaml += "        key: [\(key.joined(separator: ", "))]\n" }
        }
        try yaml.write(toFile: path, atomically: true, encoding: .utf8)
    }
}

/// Checks that do not trust pgseal: PostgreSQL's to_jsonb over the tables the test named, and
/// the standard-library digest script over the extracted bytes.
public enum Oracle {
    /// Runs Tests/EndToEndTests/Oracle/compare_to_jsonb.py; returns its output, throws with it
    /// when it finds a difference.
    @discardableResult
    public static func compareToJsonb(_ extracted: ExtractedArchive, database url: String, tables: [ExportedTable]) throws -> String {
        let profile = String(decoding: try JSONEncoder().encode(tables), as: UTF8.self)
        let result = try Command.run([Repository.path("Tests/EndToEndTests/Oracle/compare_to_jsonb.py"), extracted.directory, url, profile])
        guard result.status == 0 else { throw TestSetupError("the to_jsonb oracle disagrees:\n\(result.out)\(result.err)") }
        return result.out
    }

    /// Runs scripts/recompute_digests.py over an extracted archive; throws with its output.
    public static func recomputeDigests(_ extracted: ExtractedArchive) throws {
        let result = try Command.run([Repository.path("scripts/recompute_digests.py"), extracted.directory])
        guard result.status == 0 else { throw TestSetupError("recompute_digests.py disagrees:\n\(result.out)\(result.err)") }
    }
}
