import ArchiveFormat
import ArchiveReading
import ByteStreams
import CanonicalJSON
import Cryptography
import Display
import Foundation
import ObjectStore
import Postgres

/// `pgseal restore`: loads an archive's rows into a target database for real recovery, all
/// tables in one transaction. Every table's rows are checked against the manifest's row count
/// and digest before the transaction commits; any difference rolls everything back.
public struct RestoreRequest {
    public var archive: String
    public var databaseURL: String
    public var keys: AgeKeyring
    public var tables: [String]
    public var createTables = false
    public var truncate = false
    public var policy: TrustPolicy
    public var limits = ReadLimits()
    /// How the archive's store is reached: S3 endpoint, region, credentials (a directory needs none).
    public var storeSettings = StoreSettings()
    /// Also replay the archive's change segments up to this point (docs/FORMAT.md §11): the
    /// archive is then a base, and the tables end as they were committed at that point.
    public var until: ReplayTarget?

    public init(archive: String, databaseURL: String, keys: AgeKeyring, tables: [String], policy: TrustPolicy) {
        self.policy = policy
        self.archive = archive
        self.databaseURL = databaseURL
        self.keys = keys
        self.tables = tables
    }
}

public struct RestoreResult: Codable, Sendable {
    public struct Table: Codable, Sendable {
        public let name: String
        public let rows: Int
        public let created: Bool
        public let seconds: Double
    }

    public var archive: String
    public var database: String
    public var tables: [Table] = []
    /// Declared properties that --create-tables did not recreate, with why.
    public var notRecreated: [String] = []
    public var seconds: Double = 0
    /// What `until` replayed onto the base.
    public var replay: ReplayResult?

    enum CodingKeys: String, CodingKey {
        case archive, database, tables, seconds, replay
        case notRecreated = "not_recreated"
    }
}

public enum RestoreError: Error, CustomStringConvertible {
    case unknownTables([String], available: [String])
    case missingTable(String)
    case notEmpty(String)
    case mismatch(table: String, problem: String)
    case missingTypes([String])
    /// The target's deferred checks (deferrable constraints, constraint triggers) refused the
    /// transaction at COMMIT: the archive is sound, the target's rules reject its rows.
    case commitRefused(String)

    public var description: String {
        switch self {
        case .unknownTables(let names, let available):
            "the archive has no table \(names.joined(separator: ", ")); it has \(available.joined(separator: ", "))"
        case .missingTable(let name):
            "table \(name) does not exist in the target database: create it, or have restore create it from the archive's definitions (`createTables`)"
        case .notEmpty(let name):
            "table \(name) is not empty: restore writes only into empty tables unless asked to replace their rows (`truncate`)"
        case .missingTypes(let columns):
            "the target database lacks types of the archive's columns: "
                + columns.map(Terminal.escaped).joined(separator: "; ")
                + " — create them first (enum, domain and composite types, extensions such as hstore or citext; pg_dump --schema-only of the source has them), then restore again; nothing was written"
        case .mismatch(let table, let problem):
            "restoring \(table): \(problem); nothing was committed"
        case .commitRefused(let reason):
            "the target database refused the restore at COMMIT (a deferred constraint or constraint trigger of the target): \(reason); nothing was committed"
        }
    }
}

extension RestoreError: IntegrityViolation {
    public var isIntegrityFailure: Bool {
        if case .mismatch = self { return true }
        return false
    }
}

package enum Restorer {
    public static func run(_ request: RestoreRequest, progress: (String) -> Void = { _ in }) throws -> RestoreResult {
        try run(request, into: try PostgresConnection(conninfo: request.databaseURL), progress: progress)
    }

    /// Restores into the database `connection` is open on (a scratch database made by the caller).
    package static func run(_ request: RestoreRequest, into connection: PostgresConnection, progress: (String) -> Void = { _ in }) throws -> RestoreResult {
        let started = Date()
        let gated = try GatedArchive.openDecrypting(request.archive, store: request.storeSettings, policy: request.policy, limits: request.limits, keys: request.keys)
        let objects = try gated.objectsToRead()
        // The chain is found and every seal in it checked before anything is written.
        let replay = request.until.map { _ in
            SegmentReplay(base: gated, storeSettings: request.storeSettings, policy: request.policy, keys: request.keys, limits: request.limits)
        }
        let segments = try request.until.map { until in
            guard !gated.isPartitioned, let replay else { throw ReplayError.notABase("a partitioned archive is never a base") }
            return try replay.segments(until: until)
        }
        let definitions = try mergedDefinitions(objects.map(\.archive), keys: request.keys)
        var selected = definitions.tables
        if !request.tables.isEmpty {
            let names = Set(request.tables.map { $0.contains(".") ? $0 : "public." + $0 })
            let unknown = names.subtracting(definitions.tables.map(\.qualifiedName))
            guard unknown.isEmpty else { throw RestoreError.unknownTables(unknown.sorted(), available: definitions.tables.map(\.qualifiedName)) }
            selected = definitions.tables.filter { names.contains($0.qualifiedName) }
        }

        var result = RestoreResult(archive: request.archive, database: connection.target)
        // Declared types are proven type names before the transaction (a refused one aborts it).
        var toCreate: [TableDefinitions.Table] = []
        if request.createTables {
            toCreate = try selected.filter { try connection.execute("SELECT to_regclass($1) IS NULL", [TableDDL.name($0)]).scalar == "t" }
            try TableDDL.validateTypeTexts(definitions.types ?? [], on: connection)
            _ = try TableDDL.missingTypes(toCreate, on: connection)  // proves every text a type name
        }
        try connection.run(script: "BEGIN")
        do {
            if request.createTables {
                // The recorded types first, inside the transaction; whatever is still lacking
                // stops the restore before a row is written, and the rollback takes the types too.
                let notCreated = try TableDDL.createTypes(definitions.types ?? [], on: connection)
                let missing = try TableDDL.missingTypes(toCreate, on: connection)
                guard missing.isEmpty else {
                    throw RestoreError.missingTypes(missing.map { "\($0.table).\($0.column): \($0.type)" } + notCreated)
                }
            }
            var created: Set<String> = []
            for table in selected {
                let exists = try connection.execute("SELECT to_regclass($1) IS NOT NULL", [TableDDL.name(table)]).scalar == "t"
                if !exists {
                    guard request.createTables else { throw RestoreError.missingTable(table.qualifiedName) }
                    try TableDDL.create(table, on: connection)
                    created.insert(table.qualifiedName)
                } else if try connection.execute("SELECT EXISTS (SELECT 1 FROM \(TableDDL.name(table)))").scalar == "t" {
                    guard request.truncate else { throw RestoreError.notEmpty(table.qualifiedName) }
                    try connection.execute("TRUNCATE \(TableDDL.name(table))")
                }
            }
            // One pass over the archive per table: a connection carries one COPY at a time, and
            // chunks of different tables may interleave.
            for table in selected {
                let tableStarted = Date()
                var rows = 0
                for object in objects where object.tables?.contains(table.qualifiedName) ?? true {
                    rows += try load(table, from: object.archive, keys: request.keys, into: connection)
                }
                if created.contains(table.qualifiedName) { result.notRecreated += try TableDDL.addKeyAndConstraints(table, on: connection) }
                let entry = RestoreResult.Table(name: table.qualifiedName, rows: rows, created: created.contains(table.qualifiedName),
                                                seconds: Date().timeIntervalSince(tableStarted))
                result.tables.append(entry)
                progress("restored \(table.qualifiedName): \(rows) rows in \(String(format: "%.1f", entry.seconds)) s")
            }
            if let replay, let segments, let until = request.until {
                let replayed = try replay.apply(segments, until: until, tables: selected, on: connection)
                progress("replayed \(replayed.segments) segment(s): \(replayed.transactions) transaction(s), \(replayed.changes) change(s), up to \(replayed.lastLSN ?? "the base")")
                result.replay = replayed
            }
            do { try connection.execute("COMMIT") } catch { throw RestoreError.commitRefused("\(error)") }
        } catch {
            _ = try? connection.execute("ROLLBACK")
            throw error
        }
        result.seconds = Date().timeIntervalSince(started)
        return result
    }

    /// The definitions of every object: each table and type once, in the objects' order.
    static func mergedDefinitions(_ objects: [GatedArchive], keys: AgeKeyring) throws -> TableDefinitions {
        let all = try objects.map { try ArchiveDefinitions.read($0, keys: keys).definitions }
        guard let first = all.first else { throw RestoreError.missingTable("(the archive has no objects)") }
        guard all.count > 1 else { return first }
        var seenTables: Set<String> = [], seenTypes: Set<String> = []
        let tables = all.flatMap(\.tables).filter { seenTables.insert($0.qualifiedName).inserted }
        let types = all.flatMap { $0.types ?? [] }.filter { seenTypes.insert($0.name).inserted }
        var merged = first
        merged.tables = tables
        merged.types = types.isEmpty ? nil : types
        return merged
    }

    /// Copies one table's rows and checks them against the manifest at the end of the stream.
    package static func load(_ table: TableDefinitions.Table, from archive: GatedArchive, keys: AgeKeyring, into connection: PostgresConnection) throws -> Int {
        let object = try archive.openObject()
        return try archive.reading(object) {
            try load(table, tar: try archive.tar(over: object, keys: keys), object: object, maxRowBytes: archive.limits.maxRowBytes, into: connection)
        }
    }

    private static func load(_ table: TableDefinitions.Table, tar: TarReader, object: SealBoundSource, maxRowBytes: Int,
                             into connection: PostgresConnection) throws -> Int {
        let decoder = try table.rowDecoder()
        let writer = try connection.copyIn(TableDDL.copyFromStdin(table))
        let buffer = ByteBuffer(capacity: 512 * 1024)
        let digest = TableDigest()
        let lines = LineSplitter(maxLineBytes: maxRowBytes)
        var manifest: Manifest?
        while let entry = try tar.nextEntry() {
            if entry.path == Manifest.entryPath {
                manifest = try ArchiveManifest.decode(try tar.readAll(entry, limit: ArchiveManifest.sizeLimit))
                continue
            }
            guard ChunkPath.tableName(of: entry.path) == table.qualifiedName else { continue }
            try tar.forEachBlock { block in
                try lines.feed(block) { line in
                    digest.add(row: line)
                    do { try decoder.decode(line: line, into: buffer) } catch {
                        throw RestoreError.mismatch(table: table.qualifiedName, problem: "\(Terminal.escaped(entry.path)) line \(lines.lineCount): \(error)")
                    }
                    if buffer.count >= 256 * 1024 {
                        try writer.write(buffer.bytes)
                        buffer.removeAll()
                    }
                }
            }
            if lines.endHasPartialLine() {
                throw RestoreError.mismatch(table: table.qualifiedName, problem: "\(Terminal.escaped(entry.path)): \(LineSplitter.cutLastLine)")
            }
        }
        // Nothing is committed unless the object read is, to its last byte, the sealed one.
        try object.finish()
        try writer.write(buffer.bytes)
        try writer.finish()
        let rows = digest.rows
        let computed = digest.finalize().hex
        guard let listed = manifest?.tables.first(where: { $0.qualifiedName == table.qualifiedName }) else {
            throw RestoreError.mismatch(table: table.qualifiedName, problem: "the archive's manifest is missing or does not list the table")
        }
        guard listed.rows == rows, listed.digest == computed else {
            throw RestoreError.mismatch(table: table.qualifiedName, problem: "the archive holds \(rows) rows with digest \(computed), the manifest says \(listed.rows), \(listed.digest)")
        }
        return rows
    }
}
