/// What `pgseal diff` found, per table; written by `--report F` (docs/VERIFY.md, "diff").
public struct DiffReport: Codable, Sendable {
    public struct Table: Codable, Sendable {
        public let name: String
        public let keyed: Bool
        public var equal = 0
        public var changed = 0
        public var onlyInArchive = 0
        public var onlyInDatabase = 0
        /// The first keys of each kind (JSON arrays as text), up to `--show`.
        public var changedKeys: [String] = []
        public var onlyInArchiveKeys: [String] = []
        public var onlyInDatabaseKeys: [String] = []
        public var archiveRows = 0
        public var databaseRows = 0
        /// The table digest of the database's rows equals the archive's.
        public var digestsEqual = false
        /// How many pairs of keys the server was asked to order (keys that do not sort as text).
        public var serverComparisons = 0

        public var differs: Bool { keyed ? changed + onlyInArchive + onlyInDatabase > 0 : !digestsEqual }

        enum CodingKeys: String, CodingKey {
            case name, keyed, equal, changed
            case archiveRows = "archive_rows"
            case databaseRows = "database_rows"
            case digestsEqual = "digests_equal"
            case onlyInArchive = "only_in_archive"
            case onlyInDatabase = "only_in_database"
            case changedKeys = "changed_keys"
            case onlyInArchiveKeys = "only_in_archive_keys"
            case onlyInDatabaseKeys = "only_in_database_keys"
            case serverComparisons = "server_comparisons"
        }
    }

    public var archive: String
    public var database: String
    public var snapshot: String
    public var tables: [Table] = []
    public var seconds: Double = 0
    /// With `--replay`: the exact WAL position the database was read at, and what of the
    /// base's change segments was replayed to reach it.
    public var position: String?
    public var replayed: ReplayResult?

    public var differs: Bool { tables.contains { $0.differs } }

    package init(archive: String, database: String, snapshot: String) {
        self.archive = archive
        self.database = database
        self.snapshot = snapshot
    }
}
