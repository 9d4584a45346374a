import ArchiveFormat
import ArchiveReading
import ByteStreams
import CanonicalJSON
import Cryptography
import DatabaseCatalog
import Display
import Foundation
import ObjectStore
import Postgres

/// `pgseal diff`: the archive against a live or restored database, row by row. Both sides come
/// in key order — the archive as written, the database read in one snapshot with the archive's
/// own columns, filters and keys — and are merged, so memory stays at one row per table.
public struct DiffRequest {
    public var archive: String
    public var databaseURL: String
    public var keys: AgeKeyring
    public var show: Int
    public var policy: TrustPolicy
    public var limits = ReadLimits()
    /// How the archive's store is reached: S3 endpoint, region, credentials (a directory needs none).
    public var storeSettings = StoreSettings()
    /// At most this many database connections: more tables are compared in several passes
    /// over the archive.
    public var maxConnections = 8
    /// Each statement on the database ends after this (PostgreSQL interval text).
    public var statementTimeout = "1h"

    public init(archive: String, databaseURL: String, keys: AgeKeyring, show: Int, policy: TrustPolicy) {
        self.policy = policy
        self.archive = archive
        self.databaseURL = databaseURL
        self.keys = keys
        self.show = show
    }
}

package enum DiffEngine {
    public static func run(_ request: DiffRequest) throws -> DiffReport {
        let started = Date()
        let gated = try GatedArchive.openDecrypting(request.archive, store: request.storeSettings, policy: request.policy, limits: request.limits, keys: request.keys)
        // A partitioned archive is compared part by part, every part against the same snapshot;
        // each part's filters hold its key ranges, so each meets its own rows of the database.
        let objects = try gated.objectsToRead().map(\.archive)
        let coordinator = try PostgresConnection(conninfo: request.databaseURL)
        try coordinator.run(script: "BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        try coordinator.execute("SELECT set_config('statement_timeout', $1, true)", [request.statementTimeout])
        let snapshot = try coordinator.execute("SELECT pg_export_snapshot()").scalar ?? ""
        var report = DiffReport(archive: request.archive, database: coordinator.target, snapshot: snapshot)
        for object in objects {
            for table in try compare(object, request: request, coordinator: coordinator, snapshot: snapshot) {
                if let index = report.tables.firstIndex(where: { $0.name == table.name }) {
                    report.tables[index].add(table, show: request.show)
                } else {
                    report.tables.append(table)
                }
            }
        }
        try coordinator.execute("COMMIT")
        report.seconds = Date().timeIntervalSince(started)
        return report
    }

    /// One archive object against the database in `snapshot`: its tables in groups of at most
    /// `maxConnections`, one pass over the object per group.
    private static func compare(_ gated: GatedArchive, request: DiffRequest, coordinator: PostgresConnection,
                                snapshot: String) throws -> [DiffReport.Table] {
        let read = try ArchiveDefinitions.read(gated, keys: request.keys)
        let definitions = read.definitions
        // A filter is SQL: only a signed archive's is run, and then only in a read-only snapshot.
        if !read.trusted, let filtered = definitions.tables.first(where: { $0.filter != nil }) {
            throw DiffError.unsignedFilter(table: filtered.qualifiedName)
        }
        var plans: [String: TablePlan] = [:]
        for table in definitions.tables {
            plans[table.qualifiedName] = try TablePlan.resolve(
                TableSelection(table: table.qualifiedName, columns: table.columns.map(\.name), filter: table.filter, key: table.key),
                on: coordinator)
        }
        var results: [DiffReport.Table] = []
        let groupSize = max(1, request.maxConnections)
        for groupStart in stride(from: 0, to: definitions.tables.count, by: groupSize) {
            let group = definitions.tables[groupStart..<min(groupStart + groupSize, definitions.tables.count)]
            var sides: [String: TableMerge] = [:]
            for table in group {
                guard let plan = plans[table.qualifiedName] else { continue }
                let connection = try SnapshotSession.join(snapshot, conninfo: request.databaseURL, lockTimeout: SnapshotSession.defaultLockWaitTimeout)
                try connection.execute("SELECT set_config('statement_timeout', $1, true)", [request.statementTimeout])
                sides[table.qualifiedName] = try TableMerge(table: table, plan: plan, connection: connection, show: request.show,
                                                            comparator: KeyComparator(plan: plan, connection: coordinator))
            }
            let object = try gated.openObject()
            try gated.reading(object) {
                // Decryption, the object's hash and decompression on a core of their own.
                let tar = TarReadAhead(try gated.tar(over: object, keys: request.keys), hashesEntries: false, after: {})
                defer { tar.stop() }
                let lines = LineSplitter(maxLineBytes: request.limits.maxRowBytes)
                while let entry = try tar.nextEntry() {
                    guard let name = ChunkPath.tableName(of: entry.path), let merge = sides[name] else { continue }
                    do {
                        try tar.forEachBlock { block in try lines.feed(block) { try merge.archived(line: $0) } }
                    } catch let error as RowDecoder.DecodingError {
                        throw DiffError.badRow(entry: entry.path, line: lines.lineCount, reason: "\(error)")
                    }
                    if lines.endHasPartialLine() { throw DiffError.cutLine(entry: entry.path) }
                }
                try tar.finish()
                // The comparison counts only if the object read is, to its last byte, the sealed one.
                try object.finish()
            }
            for table in group {
                guard let merge = sides[table.qualifiedName] else { continue }
                try merge.finish()
                results.append(merge.result)
            }
        }
        return results
    }
}

extension DiffReport.Table {
    /// Adds what another part found of the same table.
    mutating func add(_ other: DiffReport.Table, show: Int) {
        equal += other.equal
        changed += other.changed
        onlyInArchive += other.onlyInArchive
        onlyInDatabase += other.onlyInDatabase
        changedKeys = Array((changedKeys + other.changedKeys).prefix(show))
        onlyInArchiveKeys = Array((onlyInArchiveKeys + other.onlyInArchiveKeys).prefix(show))
        onlyInDatabaseKeys = Array((onlyInDatabaseKeys + other.onlyInDatabaseKeys).prefix(show))
        archiveRows += other.archiveRows
        databaseRows += other.databaseRows
        digestsEqual = digestsEqual && other.digestsEqual
        serverComparisons += other.serverComparisons
    }
}

public enum DiffError: Error, CustomStringConvertible, IntegrityViolation {
    case unsignedFilter(table: String)
    case cutLine(entry: String)
    case badRow(entry: String, line: Int, reason: String)

    public var description: String {
        switch self {
        case .unsignedFilter(let table):
            "table \(Terminal.escaped(table)) of this unsigned archive has a row filter, which is SQL: pgseal runs a filter only from an archive whose seal verifies against a trusted signer"
        case .cutLine(let entry):
            "\(Terminal.escaped(entry)): \(LineSplitter.cutLastLine)"
        case .badRow(let entry, let line, let reason):
            "\(Terminal.escaped(entry)):\(line): \(reason)"
        }
    }

    public var isIntegrityFailure: Bool {
        if case .unsignedFilter = self { return false }
        return true
    }
}

/// One table's merge: archive lines are pushed in, database rows pulled as needed. Rows are
/// compared byte for byte where they lie (the database's in the encoder's buffer, the archive's
/// in the read block), keys through ranges into them: nothing is allocated or hashed per row of
/// a keyed table.
package final class TableMerge {
    /// The key's members in key order (which need not be column order).
    private let keyMembers: MemberSelection
    private let order: KeyComparator
    private let show: Int
    private let encoder: RowEncoder
    private let rows: CopyOutReader
    private let connection: PostgresConnection
    /// The database's current row, encoded, and where it and its key values are.
    private let current = ByteBuffer(capacity: 4096)
    private var databaseRow = 0..<0
    private var databaseKey: [Range<Int>]
    private var hasDatabaseRow = false
    private var exhausted = false
    private var archiveKey: [Range<Int>]
    private var memberScratch: [Range<Int>] = []
    /// Without a key the two sides are compared as digests of their rows in the same order.
    private let archiveDigest = TableDigest()
    private let databaseDigest = TableDigest()
    private var archiveRows = 0
    private var databaseRows = 0
    package private(set) var result: DiffReport.Table

    package init(table: TableDefinitions.Table, plan: TablePlan, connection: PostgresConnection, show: Int, comparator: KeyComparator) throws {
        self.connection = connection
        keyMembers = MemberSelection(memberCount: plan.columns.count, indexes: plan.keyColumnIndexes)
        databaseKey = Array(repeating: 0..<0, count: plan.keyColumnIndexes.count)
        archiveKey = databaseKey
        order = comparator
        self.show = show
        encoder = plan.encoder(archivedAs: table.columns)
        rows = try connection.copyOut(plan.copyStatement)
        result = DiffReport.Table(name: table.qualifiedName, keyed: !table.key.isEmpty)
        try advance()
    }

    /// Pulls the next database row into `current`.
    private func advance() throws {
        guard !exhausted else { return }
        var got = false
        let hasRow = try rows.next { copyLine in
            current.removeAll()
            databaseRow = try encoder.encode(copyLine: copyLine, into: current)
            if !result.keyed { databaseDigest.add(row: current.bytes(databaseRow)) }
            for slot in databaseKey.indices { databaseKey[slot] = encoder.keyValueRange(slot) }
            databaseRows += 1
            got = true
        }
        exhausted = !hasRow || !got
        hasDatabaseRow = !exhausted
    }

    package func archived(line: UnsafeRawBufferPointer) throws {
        archiveRows += 1
        guard result.keyed else {
            archiveDigest.add(row: line)
            return
        }
        try keyMembers.ranges(of: line, scratch: &memberScratch, into: &archiveKey)
        var relation = ComparisonResult.orderedDescending
        while hasDatabaseRow {
            relation = try order.compare(current.bytes, databaseKey, line, archiveKey)
            guard relation == .orderedAscending else { break }
            note(&result.onlyInDatabase, &result.onlyInDatabaseKeys, current.bytes, databaseKey)
            try advance()
        }
        if hasDatabaseRow, relation == .orderedSame {
            if current.bytes(databaseRow).elementsEqual(line) { result.equal += 1 } else { note(&result.changed, &result.changedKeys, line, archiveKey) }
            try advance()
        } else {
            note(&result.onlyInArchive, &result.onlyInArchiveKeys, line, archiveKey)
        }
    }

    package func finish() throws {
        if result.keyed {
            while hasDatabaseRow {
                note(&result.onlyInDatabase, &result.onlyInDatabaseKeys, current.bytes, databaseKey)
                try advance()
            }
            // Every row matched by key with equal bytes, none left over: the digests are equal.
            result.digestsEqual = result.changed == 0 && result.onlyInArchive == 0 && result.onlyInDatabase == 0
        } else {
            while !exhausted { try advance() }
            // Without a key the rows are a multiset read in the same order on both sides: equal
            // digests mean equal tables; rows are not matched one by one.
            result.digestsEqual = archiveDigest.finalize() == databaseDigest.finalize()
            if result.digestsEqual { result.equal = archiveRows }
        }
        result.serverComparisons = order.serverComparisons
        result.archiveRows = archiveRows
        result.databaseRows = databaseRows
        try connection.execute("COMMIT")
    }

    private func note(_ count: inout Int, _ keys: inout [String], _ row: UnsafeRawBufferPointer, _ key: [Range<Int>]) {
        count += 1
        if keys.count < show {
            keys.append("[" + key.map { String(decoding: UnsafeRawBufferPointer(rebasing: row[$0]), as: UTF8.self) }.joined(separator: ",") + "]")
        }
    }
}
