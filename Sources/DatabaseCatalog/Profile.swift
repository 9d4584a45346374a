import ByteStreams
/// One table of a profile: which columns, which rows, and the key that orders them.
public struct TableSelection: Codable, Sendable, Equatable {
    /// `schema.table`, or `table` for the `public` schema.
    public var table: String
    /// The exported columns in order; nil means every column. An allow-list: columns added to
    /// the table later are not exported until they are named here.
    public var columns: [String]?
    /// A SQL boolean expression over the table's columns, e.g. `is_active`.
    public var filter: String?
    /// The columns that identify a row; nil means the primary key. An empty list declares a
    /// table without a key (compared as a multiset of row hashes).
    public var key: [String]?
    /// Columns left out of "every column" (when `columns` is nil): secrets, for instance.
    public var excludeColumns: [String]?

    public init(table: String, columns: [String]? = nil, filter: String? = nil, key: [String]? = nil, excludeColumns: [String]? = nil) {
        self.table = table
        self.columns = columns
        self.filter = filter
        self.key = key
        self.excludeColumns = excludeColumns
    }

    enum CodingKeys: String, CodingKey {
        case table, columns, filter, key
        case excludeColumns = "exclude_columns"
    }

    public var schemaName: String { table.contains(".") ? String(table.split(separator: ".", maxSplits: 1)[0]) : "public" }
    public var tableName: String { table.contains(".") ? String(table.split(separator: ".", maxSplits: 1)[1]) : table }
    public var qualifiedName: String { schemaName + "." + tableName }
}

/// A named set of tables exported together in one snapshot.
public struct Profile: Codable, Sendable, Equatable {
    public var name: String
    public var tables: [TableSelection]

    public init(name: String, tables: [TableSelection]) {
        self.name = name
        self.tables = tables
    }

    /// What the stock-analysis service's old export script did, minus its flaws: only active
    /// users and subscriptions, and never a password hash, MFA secret or other secret column.
    public static let kessanUserData = Profile(name: "kessan-user-data", tables: [
        TableSelection(
            table: "public.users",
            columns: ["id", "email", "email_verified", "created_at", "updated_at", "is_active"],
            filter: "is_active", key: ["id"]),
        TableSelection(
            table: "public.user_profiles",
            columns: ["user_id", "display_name", "timezone", "notification_preferences", "created_at", "updated_at"],
            key: ["user_id"]),
        TableSelection(
            table: "public.user_watchlist",
            columns: ["user_id", "ticker", "notes", "added_at"],
            key: ["user_id", "ticker"]),
        TableSelection(
            table: "public.user_subscriptions",
            // `id` is exported as the key: (user_id, plan_id, created_at) need not be unique,
            // and a diff after a restore must be able to name the row.
            columns: ["id", "user_id", "plan_id", "status", "current_period_start", "current_period_end", "created_at"],
            filter: "status = 'active'", key: ["id"]),
    ])

    public static let builtIn: [Profile] = [.kessanUserData]
}

extension Profile {
    /// The profile of `export --table T … [--exclude-column T.C …]`: every column of each table
    /// but the excluded ones, keyed by its primary key.
    package static func adHoc(tables: [String], excludeColumns: [String], name: String) throws -> Profile {
        var selections = tables.map { TableSelection(table: $0) }
        for column in excludeColumns {
            guard let dot = column.lastIndex(of: "."), dot != column.startIndex else {
                throw ConfigurationError("--exclude-column takes TABLE.COLUMN, not \(column)")
            }
            let table = TableSelection(table: String(column[..<dot])).qualifiedName
            guard let index = selections.firstIndex(where: { $0.qualifiedName == table }) else {
                throw ConfigurationError("--exclude-column \(column): \(table) is not among the --table tables")
            }
            selections[index].excludeColumns = (selections[index].excludeColumns ?? []) + [String(column[column.index(after: dot)...])]
        }
        return Profile(name: name, tables: selections)
    }
}
