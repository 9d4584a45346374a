import ArchiveFormat
import ArchiveReading
import CanonicalJSON
import DatabaseCatalog
import Foundation
import Postgres
import Restore

/// The restore level: load every row into a scratch database (bare tables, keys added after
/// the load), read the tables back through the export's own canonical encoder in key order, and
/// compare the digests with the archive's; on a difference, name the first differing row.
struct RestoreCheck {
    /// One archive object to load: a whole archive, or one part of a partitioned one with the
    /// key range it holds of each of its tables (docs/FORMAT.md §10).
    struct Source {
        let manifest: Manifest
        /// A fresh stream of the object's tar (decrypted), for each pass.
        let openTar: () throws -> (TarReader, SealBoundSource)
        var ranges: [String: PartRange] = [:]
        /// How the source is named in failures: empty for a whole archive, the part's name.
        var label = ""
    }

    let sources: [Source]
    let scratch: ScratchDatabase
    var limits = ReadLimits()

    init(sources: [Source], scratch: ScratchDatabase, limits: ReadLimits) {
        self.sources = sources
        self.scratch = scratch
        self.limits = limits
    }

    init(manifest: Manifest, openTar: @escaping () throws -> (TarReader, SealBoundSource), scratch: ScratchDatabase, limits: ReadLimits) {
        self.init(sources: [Source(manifest: manifest, openTar: openTar)], scratch: scratch, limits: limits)
    }

    /// The tables' shapes, as DDL and COPY take them: each table once, from the first source
    /// that holds it.
    var definitions: [TableDefinitions.Table] {
        var seen: Set<String> = []
        return sources.flatMap { TableDefinitions(manifest: $0.manifest).tables }.filter { seen.insert($0.qualifiedName).inserted }
    }

    /// The types of every source, each once.
    var types: [TypeDefinition] {
        var seen: Set<String> = []
        return sources.flatMap { $0.manifest.types ?? [] }.filter { seen.insert($0.name).inserted }
    }

    func run(into report: inout VerificationReport) throws {
        let connection = try scratch.connect()
        do {
            try TableDDL.validateTypeTexts(types, on: connection)
            let notCreated = try TableDDL.createTypes(types, on: connection)
            for reason in notCreated { report.notes.append("not recreated in the scratch database: " + reason) }
        } catch {
            report.fail("restore", "the archive's types cannot be created in the scratch database: \(error)")
            return
        }
        for table in definitions {
            do {
                try TableDDL.create(table, on: connection)
            } catch {
                report.fail("restore \(table.qualifiedName)", "the table cannot be created in the scratch database: \(error)")
                return
            }
        }
        let started = Date()
        let settling = TableSettling()
        let loaded: Bool
        do {
            loaded = try load(into: &report, settling: settling)
        } catch {
            settling.wait()
            throw error
        }
        report.phases["load"] = Date().timeIntervalSince(started)
        settling.wait()
        guard loaded else { return }
        for outcome in settling.outcomes.sorted(by: { $0.order < $1.order }) {
            for failure in outcome.failures { report.fail(failure.location, failure.problem) }
            if let index = report.tables.firstIndex(where: { $0.name == outcome.table }) {
                report.tables[index].restoredDigestMatches = outcome.digestMatches
            }
        }
        report.phases["compare"] = Date().timeIntervalSince(started) - (report.phases["load"] ?? 0)
    }

    /// One table's load: its own connection and COPY, and how many of its chunks have come.
    private final class TableLoad {
        let connection: PostgresConnection
        let writer: CopyInWriter
        let decoder: RowDecoder
        let buffer = ByteBuffer(capacity: 512 * 1024)
        var chunksLoaded = 0
        init(connection: PostgresConnection, writer: CopyInWriter, decoder: RowDecoder) {
            self.connection = connection
            self.writer = writer
            self.decoder = decoder
        }
    }

    /// Streams every chunk into its table with COPY FROM STDIN, one connection per table
    /// (chunks of different tables may interleave in the tar). A table whose last chunk (by the
    /// manifest) has come is keyed and read back on a thread of its own while the others load.
    private func load(into report: inout VerificationReport, settling: TableSettling) throws -> Bool {
        var loads: [String: TableLoad] = [:]
        let definitions = self.definitions
        let lines = LineSplitter(maxLineBytes: limits.maxRowBytes)
        var expectedChunks: [String: Int] = [:]
        for source in sources {
            for table in source.manifest.tables { expectedChunks[table.qualifiedName, default: 0] += table.chunks.count }
        }
        for source in sources {
            let (tar, object) = try source.openTar()
            while let entry = try tar.nextEntry() {
                guard let name = ChunkPath.tableName(of: entry.path), let table = definitions.first(where: { $0.qualifiedName == name }) else { continue }
                let place = source.label.isEmpty ? entry.path : "\(source.label) \(entry.path)"
                if loads[name] == nil {
                    let columns = try table.columnSpecs()
                    let connection = try scratch.connect()
                    let writer = try connection.copyIn(TableDDL.copyFromStdin(table))
                    loads[name] = TableLoad(connection: connection, writer: writer, decoder: RowDecoder(columns: columns))
                }
                guard let load = loads[name] else { continue }
                // The object changed since the read phase checked it: its end would say so too.
                guard !settling.started(name) else {
                    report.fail(place, "a chunk past the \(expectedChunks[name] ?? 0) the manifest lists: the object changed since it was read")
                    return false
                }
                var lineNumber = 0
                do {
                    try tar.forEachBlock { block in
                        try lines.feed(block) { line in
                            lineNumber += 1
                            try load.decoder.decode(line: line, into: load.buffer)
                            if load.buffer.count >= 256 * 1024 {
                                try load.writer.write(load.buffer.bytes)
                                load.buffer.removeAll()
                            }
                        }
                    }
                } catch let error as RowDecoder.DecodingError {
                    report.fail("\(place):\(lineNumber)", "\(error)")
                    return false
                } catch let error as LineSplitter.LineTooLong {
                    report.fail("\(place):\(error.line)", "\(error)")
                    return false
                } catch let error as PostgresError {
                    report.fail("restore \(name)", "loading \(place) failed: \(error)")
                    return false
                }
                load.chunksLoaded += 1
                if load.chunksLoaded == expectedChunks[name] { settle(table, load, settling) }
            }
            // The object read again must still be the sealed one.
            do { try object.finish() } catch let problem as SealProblem {
                report.fail(source.label.isEmpty ? problem.location : "\(source.label) \(problem.location)", problem.problem)
                return false
            }
        }
        // Tables without chunks, and any whose chunks fell short of the manifest's count.
        for table in definitions where !settling.started(table.qualifiedName) {
            let load = try loads[table.qualifiedName] ?? {
                let connection = try scratch.connect()
                return TableLoad(connection: connection, writer: try connection.copyIn(TableDDL.copyFromStdin(table)), decoder: RowDecoder(columns: []))
            }()
            settle(table, load, settling)
        }
        return true
    }

    /// Ends `table`'s COPY, adds its key and constraints and compares it read back — on a
    /// thread of its own, the outcome collected in `settling`.
    private func settle(_ table: TableDefinitions.Table, _ load: TableLoad, _ settling: TableSettling) {
        let order = definitions.firstIndex { $0.qualifiedName == table.qualifiedName } ?? 0
        let pieces = sources.compactMap { source in
            source.manifest.tables.first { $0.qualifiedName == table.qualifiedName }.map { (source, $0) }
        }
        let check = self
        settling.run(table.qualifiedName, order: order) {
            var outcome = TableSettling.Outcome(table: table.qualifiedName, order: order)
            do {
                try load.writer.write(load.buffer.bytes)
                try load.writer.finish()
            } catch {
                outcome.failures.append(.init(location: "restore \(table.qualifiedName)", problem: "the rows do not load into their declared types: \(error)"))
                return outcome
            }
            if !table.key.isEmpty {
                do {
                    try TableDDL.addKeyAndConstraints(table, on: load.connection)
                } catch {
                    outcome.failures.append(.init(location: "restore \(table.qualifiedName)",
                                                  problem: "the key (\(table.key.joined(separator: ", "))) does not hold for the restored rows: \(error)"))
                }
            }
            do {
                // The read-back only reads.
                try load.connection.execute("SET default_transaction_read_only = on")
                var matches = true
                for (source, listed) in pieces {
                    matches = try check.compare(listed, source: source, on: load.connection, failures: &outcome.failures) && matches
                }
                outcome.digestMatches = pieces.isEmpty ? nil : matches
            } catch {
                outcome.failures.append(.init(location: "restore \(table.qualifiedName)", problem: "the restored table cannot be read back: \(error)"))
            }
            return outcome
        }
    }

    /// Reads a restored table back in key order through the canonical encoder and compares its
    /// row count and digest with the manifest's; returns whether they match.
    private func compare(_ table: Manifest.Table, source: Source, on connection: PostgresConnection, failures: inout [VerificationReport.Failure]) throws -> Bool {
        var selection = TableSelection(table: table.qualifiedName, columns: table.columns.map(\.name), filter: nil, key: table.key)
        var plan = try TablePlan.resolve(selection, on: connection)
        let range = source.ranges[table.qualifiedName] ?? .whole
        if !range.isWhole {
            // The part's rows only: its range, the bounds again typed literals, never SQL.
            guard range.column == plan.keyColumns.first else {
                failures.append(.init(location: "restore \(table.qualifiedName)", problem: "\(source.label) is split on a column that is not the table's first key column"))
                return false
            }
            selection.filter = try KeyRanges.predicate(range, of: plan)
            plan = try TablePlan.resolve(selection, on: connection)
        }
        let location = "restore \(table.qualifiedName)" + (source.label.isEmpty ? "" : " \(source.label)")
        let (count, restored) = try TableReadBack.digest(plan, declared: table.columns, on: connection)
        let matches = count == table.rows && restored == table.digest
        if !matches {
            failures.append(.init(location: location, problem:
                "read back from the scratch database: \(count) rows with digest \(restored); the archive has \(table.rows) rows, \(table.digest)"
                + (try firstDifference(table, plan: plan, source: source, on: connection).map { " — first difference: \($0)" } ?? "")))
        }
        return matches
    }

    /// Walks the archive's rows of `table` and the restored rows side by side (both in key
    /// order) and describes the first pair that differs.
    private func firstDifference(_ table: Manifest.Table, plan: TablePlan, source: Source, on connection: PostgresConnection) throws -> String? {
        let archived = TableLines(tar: try source.openTar().0, table: table.qualifiedName, maxLine: limits.maxRowBytes)
        let encoder = plan.encoder(archivedAs: table.columns)
        let line = ByteBuffer(capacity: 4096)
        var index = 0
        var difference: String?
        let rows = try connection.copyOut(plan.copyStatement)
        while try rows.next({ copyLine in
            guard difference == nil else { return }
            index += 1
            line.removeAll()
            try encoder.encode(copyLine: copyLine, into: line)
            guard let expected = try archived.next() else {
                difference = "row \(index) is in the restored table but not in the archive: \(Self.preview(line.bytes))"
                return
            }
            if !line.bytes.elementsEqual(expected) {
                difference = "row \(index): archive \(Self.preview(expected)), restored \(Self.preview(line.bytes))"
            }
        }) {}
        if difference == nil, let missing = try archived.next() {
            difference = "row \(index + 1) of the archive is missing from the restored table: \(Self.preview(missing))"
        }
        return difference
    }

    static func preview(_ bytes: some Collection<UInt8>) -> String {
        String(decoding: bytes.prefix(160), as: UTF8.self) + (bytes.count > 160 ? "…" : "")
    }
}

/// Pulls one table's lines out of a tar stream one at a time, reading the tar in fixed-size
/// pieces: the archive side of a side-by-side walk.
final class TableLines {
    private let tar: TarReader
    private let table: String
    private let block = UnsafeMutableRawBufferPointer.allocate(byteCount: 256 * 1024, alignment: 16)
    private var available = 0..<0
    private var inTable = false
    private var line: [UInt8] = []
    private let maxLine: Int

    init(tar: TarReader, table: String, maxLine: Int) {
        self.tar = tar
        self.table = table
        self.maxLine = maxLine
    }

    deinit { block.deallocate() }

    func next() throws -> [UInt8]? {
        line.removeAll(keepingCapacity: true)
        while true {
            if let newline = block[available].firstIndex(of: 0x0A) {
                line.append(contentsOf: block[available.lowerBound..<newline])
                available = (newline + 1)..<available.upperBound
                return line
            }
            line.append(contentsOf: block[available])
            available = 0..<0
            guard line.count <= maxLine else { throw LineSplitter.LineTooLong(line: 0, limit: maxLine) }
            if inTable {
                let n = try tar.readData(into: block)
                if n > 0 {
                    available = 0..<n
                    continue
                }
                inTable = false
            }
            guard let entry = try tar.nextEntry() else { return nil }
            inTable = ChunkPath.tableName(of: entry.path) == table
        }
    }
}

/// The tables being keyed and compared on threads of their own while others load; their
/// outcomes, collected for the report once all have ended.
final class TableSettling: @unchecked Sendable {
    struct Outcome {
        let table: String
        let order: Int
        var failures: [VerificationReport.Failure] = []
        var digestMatches: Bool?
    }

    private let lock = NSLock()
    private let group = DispatchGroup()
    private var names: Set<String> = []
    private var collected: [Outcome] = []

    func started(_ table: String) -> Bool { lock.withLock { names.contains(table) } }

    func run(_ table: String, order: Int, _ work: @escaping () -> Outcome) {
        lock.withLock { _ = names.insert(table) }
        group.enter()
        let box = UncheckedBox(work)
        Thread { [self] in
            let outcome = box.value()
            lock.withLock { collected.append(outcome) }
            group.leave()
        }.start()
    }

    func wait() { group.wait() }

    var outcomes: [Outcome] { lock.withLock { collected } }
}
