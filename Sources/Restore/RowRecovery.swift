import ArchiveFormat
import ArchiveReading
import ByteStreams
import CanonicalJSON
import Cryptography
import Display
import Foundation
import ObjectStore
import Postgres

/// `pgseal recover`: selected rows of one table of an archive put back into a live database
/// that must stay online — the rows a bug deleted or overwrote — in one transaction, by a
/// conflict policy stated up front. The archive's rows are chosen by pgseal (by key, or by
/// column values compared with the archive's own), never by SQL from the command line; the
/// target's constraints and triggers apply, as for any client.
public struct RecoveryRequest: Sendable {
    public enum Conflict: String, Sendable, CaseIterable, Codable {
        /// A row whose key exists with other values is left alone.
        case skip
        /// … is overwritten with the archive's values.
        case update
        /// … stops the recovery, naming it; nothing is written.
        case fail
    }

    public var archive: String
    public var databaseURL: String
    public var table: String
    /// Keys as `pgseal diff` prints them (`["…"]`, `[1,"AAPL"]`); for a one-column key the
    /// bare value also does.
    public var rowKeys: [String] = []
    /// `column=value`: rows whose column's text (PostgreSQL's output) equals the value; all
    /// must hold.
    public var equalities: [(column: String, value: String)] = []
    public var onConflict: Conflict
    public var dryRun = false
    public var policy: TrustPolicy
    public var keys: AgeKeyring
    public var limits = ReadLimits()
    /// How the archive's store is reached: S3 endpoint, region, credentials (a directory needs none).
    public var storeSettings = StoreSettings()
    /// How many rows the result lists one by one.
    public var show = 1000

    public init(archive: String, databaseURL: String, table: String, onConflict: Conflict, policy: TrustPolicy, keys: AgeKeyring) {
        self.archive = archive
        self.databaseURL = databaseURL
        self.table = table
        self.onConflict = onConflict
        self.policy = policy
        self.keys = keys
    }
}

public struct RecoveryResult: Codable, Sendable {
    public struct Row: Codable, Sendable {
        public let key: String
        /// `insert`, `update`, `unchanged` or `left alone` (skip policy, the row differs).
        public let action: String
    }

    public var archive: String
    public var database: String
    public var table: String
    public var onConflict: RecoveryRequest.Conflict
    public var dryRun: Bool
    public var selected = 0
    public var inserted = 0
    public var updated = 0
    public var unchanged = 0
    public var leftAlone = 0
    public var rows: [Row] = []
    public var seconds: Double = 0

    enum CodingKeys: String, CodingKey {
        case archive, database, table, selected, inserted, updated, unchanged, rows, seconds
        case onConflict = "on_conflict", dryRun = "dry_run", leftAlone = "left_alone"
    }
}

public enum RecoveryError: Error, CustomStringConvertible {
    case noSuchTable(String, available: [String])
    case keyless(String)
    case noSuchColumn(String, table: String)
    case nothingSelected(String)
    case conflict(table: String, key: String)
    case refused(table: String, reason: String)

    public var description: String {
        switch self {
        case .noSuchTable(let table, let available):
            "the archive has no table \(Terminal.escaped(table)); it has \(available.map(Terminal.escaped).joined(separator: ", "))"
        case .keyless(let table):
            "table \(Terminal.escaped(table)) has no key in the archive: rows cannot be matched with the live table's; restore it into a scratch database instead"
        case .noSuchColumn(let column, let table):
            "a condition names \(Terminal.escaped(column)), which is not a column of \(Terminal.escaped(table)) in the archive"
        case .nothingSelected(let table):
            "no row of \(Terminal.escaped(table)) in the archive matches the selection; nothing was written"
        case .conflict(let table, let key):
            "row \(Terminal.escaped(key)) of \(Terminal.escaped(table)) exists in the database with other values, and the conflict policy is fail; nothing was written — choose skip (leave it) or update (overwrite it)"
        case .refused(let table, let reason):
            "the database refused the recovery of \(Terminal.escaped(table)): \(reason); nothing was written"
        }
    }
}

package enum RowRecovery {
    public static func run(_ request: RecoveryRequest) throws -> RecoveryResult {
        let started = Date()
        let gated = try GatedArchive.openDecrypting(request.archive, store: request.storeSettings, policy: request.policy, limits: request.limits, keys: request.keys)
        let objects = try gated.objectsToRead()
        let definitions = try Restorer.mergedDefinitions(objects.map(\.archive), keys: request.keys)
        let wanted = request.table.contains(".") ? request.table : "public." + request.table
        guard let table = definitions.tables.first(where: { $0.qualifiedName.isByteEqual(to: wanted) }) else {
            throw RecoveryError.noSuchTable(wanted, available: definitions.tables.map(\.qualifiedName))
        }
        guard !table.key.isEmpty else { throw RecoveryError.keyless(table.qualifiedName) }
        let selector = try RowSelector(table: table, keys: request.rowKeys, equalities: request.equalities)

        let connection = try PostgresConnection(conninfo: request.databaseURL)
        var result = RecoveryResult(archive: request.archive, database: connection.target, table: table.qualifiedName,
                                    onConflict: request.onConflict, dryRun: request.dryRun)
        let target = TableDDL.name(table)
        let columns = table.columns.map { SQL.identifier($0.name) }
        let keyColumns = table.key.map(SQL.identifier)
        try connection.execute("BEGIN")
        do {
            // The archive's selected rows, typed by the live table's own columns.
            try connection.execute("CREATE TEMP TABLE pgseal_recovered ON COMMIT DROP AS SELECT \(columns.joined(separator: ", ")) FROM \(target) WITH NO DATA")
            // From each object that holds the table (every part of a partitioned archive that does).
            for object in objects where object.tables?.contains(table.qualifiedName) ?? true {
                result.selected += try load(table, from: object.archive, identities: request.keys, selector: selector,
                                            into: connection, copy: "COPY pgseal_recovered (\(columns.joined(separator: ", "))) FROM STDIN")
            }
            guard result.selected > 0 else { throw RecoveryError.nothingSelected(table.qualifiedName) }
            // Writers wait for the few statements below (not for the archive's reading above).
            try connection.execute("LOCK TABLE \(target) IN SHARE ROW EXCLUSIVE MODE")
            let matches = keyColumns.map { "t.\($0) = r.\($0)" }.joined(separator: " AND ")
            let same = "ROW(\(columns.map { "t." + $0 }.joined(separator: ", ")))::text = ROW(\(columns.map { "r." + $0 }.joined(separator: ", ")))::text"
            // The key as diff prints it: JSON values, comma-separated, no spaces.
            let keyText = "'[' || concat_ws(',', \(keyColumns.map { "to_json(r.\($0))::text" }.joined(separator: ", "))) || ']'"
            // Classified by the server, so that a selection of millions costs no memory here:
            // counts per class, the first differing key (for fail), the first rows to list.
            let classified = """
                SELECT \(keyText) AS key, CASE WHEN NOT EXISTS (SELECT 1 FROM \(target) t WHERE \(matches)) THEN 'insert'
                                               WHEN EXISTS (SELECT 1 FROM \(target) t WHERE \(matches) AND \(same)) THEN 'unchanged'
                                               ELSE 'differs' END AS class
                FROM pgseal_recovered r
                """
            for row in try connection.execute("SELECT class, count(*) FROM (\(classified)) c GROUP BY class").rows {
                let count = Int(row[1] ?? "") ?? 0
                switch (row[0] ?? "", request.onConflict) {
                case ("insert", _): result.inserted = count
                case ("unchanged", _): result.unchanged = count
                case (_, .update): result.updated = count
                case (_, .skip): result.leftAlone = count
                case (_, .fail):
                    let first = try connection.execute("SELECT key FROM (\(classified)) c WHERE class = 'differs' ORDER BY key LIMIT 1").scalar
                    throw RecoveryError.conflict(table: table.qualifiedName, key: first ?? "?")
                }
            }
            let action = ["insert": "insert", "unchanged": "unchanged", "differs": request.onConflict == .update ? "update" : "left alone"]
            result.rows = try connection.execute("SELECT key, class FROM (\(classified)) c ORDER BY key LIMIT \(max(0, request.show))").rows
                .map { RecoveryResult.Row(key: $0[0] ?? "", action: action[$0[1] ?? ""] ?? "?") }
            if request.dryRun {
                try connection.execute("ROLLBACK")
            } else {
                try write("""
                    INSERT INTO \(target) (\(columns.joined(separator: ", ")))
                    SELECT \(columns.map { "r." + $0 }.joined(separator: ", ")) FROM pgseal_recovered r
                    WHERE NOT EXISTS (SELECT 1 FROM \(target) t WHERE \(matches))
                    """, on: connection, table: table.qualifiedName)
                if request.onConflict == .update {
                    try write("""
                        UPDATE \(target) t SET \(columns.map { "\($0) = r.\($0)" }.joined(separator: ", "))
                        FROM pgseal_recovered r WHERE \(matches) AND NOT (\(same))
                        """, on: connection, table: table.qualifiedName)
                }
                // Deferred constraints and constraint triggers speak at COMMIT.
                try write("COMMIT", on: connection, table: table.qualifiedName)
            }
        } catch {
            _ = try? connection.execute("ROLLBACK")
            throw error
        }
        result.seconds = Date().timeIntervalSince(started)
        return result
    }

    /// Runs one statement of the write; what the database refuses (a foreign key, a check, a
    /// trigger) becomes the recovery's error, with the server's words naming the row.
    private static func write(_ sql: String, on connection: PostgresConnection, table: String) throws {
        do { try connection.execute(sql) } catch { throw RecoveryError.refused(table: table, reason: "\(error)") }
    }

    /// Streams the table's rows of the archive, copying the selected ones; returns how many.
    private static func load(_ table: TableDefinitions.Table, from gated: GatedArchive, identities: AgeKeyring, selector: RowSelector,
                             into connection: PostgresConnection, copy: String) throws -> Int {
        let object = try gated.openObject()
        return try gated.reading(object) {
            let tar = try gated.tar(over: object, keys: identities)
            let decoder = try table.rowDecoder()
            let writer = try connection.copyIn(copy)
            let buffer = ByteBuffer(capacity: 256 * 1024)
            let lines = LineSplitter(maxLineBytes: gated.limits.maxRowBytes)
            var selected = 0
            while let entry = try tar.nextEntry() {
                guard ChunkPath.tableName(of: entry.path) == table.qualifiedName else { continue }
                try tar.forEachBlock { block in
                    try lines.feed(block) { line in
                        guard try selector.selects(line) else { return }
                        try decoder.decode(line: line, into: buffer)
                        selected += 1
                        if buffer.count >= 128 * 1024 {
                            try writer.write(buffer.bytes)
                            buffer.removeAll()
                        }
                    }
                }
                if lines.endHasPartialLine() {
                    throw RestoreError.mismatch(table: table.qualifiedName, problem: "\(Terminal.escaped(entry.path)): \(LineSplitter.cutLastLine)")
                }
            }
            try object.finish()
            try writer.write(buffer.bytes)
            try writer.finish()
            return selected
        }
    }
}

/// Which of the archive's rows a recovery takes: by key text (as `diff` prints keys), or by
/// the PostgreSQL text of named columns.
struct RowSelector {
    /// The key's members (when keys are given), then each equality's member.
    let members: MemberSelection
    let keyCount: Int
    let keys: Set<String>
    let equalities: [(index: Int, encoding: ColumnEncoding, value: String)]
    let decoder: RowDecoder

    init(table: TableDefinitions.Table, keys: [String], equalities: [(column: String, value: String)]) throws {
        let keyIndexes = table.key.compactMap { key in table.columns.firstIndex { $0.name.isByteEqual(to: key) } }
        decoder = try table.rowDecoder()
        // A bare value of a one-column key matches it as a JSON string or as a number.
        self.keys = Set(keys.flatMap { key -> [String] in
            key.hasPrefix("[") ? [key] : ["[" + key + "]", "[" + Self.jsonString(key) + "]"]
        })
        self.equalities = try equalities.map { equality in
            guard let index = table.columns.firstIndex(where: { $0.name.isByteEqual(to: equality.column) }),
                  let encoding = ColumnEncoding(manifestName: table.columns[index].encoding) else {
                throw RecoveryError.noSuchColumn(equality.column, table: table.qualifiedName)
            }
            return (index, encoding, equality.value)
        }
        keyCount = keys.isEmpty ? 0 : keyIndexes.count
        members = MemberSelection(memberCount: table.columns.count,
                                  indexes: (keys.isEmpty ? [] : keyIndexes) + self.equalities.map(\.index))
    }

    /// One pass over the line for every member the selection looks at.
    func selects(_ line: UnsafeRawBufferPointer) throws -> Bool {
        let values = try members.values(of: line)
        if keyCount > 0 {
            guard keys.contains("[" + values.prefix(keyCount).map { String(decoding: $0, as: UTF8.self) }.joined(separator: ",") + "]") else { return false }
        }
        for (equality, value) in zip(equalities, values.dropFirst(keyCount)) {
            let text = try value.withUnsafeBytes { try decoder.postgresText(of: $0, as: equality.encoding) }
            guard text == equality.value else { return false }
        }
        return true
    }

    static func jsonString(_ text: String) -> String {
        String(decoding: (try? JSONEncoder().encode(text)) ?? Data("\"\"".utf8), as: UTF8.self)
    }
}
