import Archive
import ByteStreams
import CanonicalJSON
import Export
import Foundation
import Postgres

/// The restore level: load every row into a scratch database (bare tables, keys added after
/// the load), read the tables back through the export's own canonical encoder in key order, and
/// compare the digests with the archive's; on a difference, name the first differing row.
struct RestoreCheck {
    let manifest: Manifest
    /// A fresh stream of the archive's tar (decrypted), for each pass.
    let openTar: () throws -> (TarReader, SealBoundSource)
    let scratch: ScratchDatabase
    var limits = ReadLimits()
    /// The manifest's table shapes, as DDL and COPY take them.
    var definitions: [TableDefinitions.Table] { TableDefinitions(manifest: manifest).tables }

    func run(into report: inout VerificationReport) throws {
        let connection = try scratch.connect()
        do {
            try TableDDL.validateTypeTexts(manifest.types ?? [], on: connection)
            let notCreated = try TableDDL.createTypes(manifest.types ?? [], on: connection)
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
        let loadStarted = Date()
        guard try load(into: &report) else { return }
        for table in definitions where !table.key.isEmpty {
            do {
                try TableDDL.addKeyAndConstraints(table, on: connection)
            } catch {
                report.fail("restore \(table.qualifiedName)", "the key (\(table.key.joined(separator: ", "))) does not hold for the restored rows: \(error)")
            }
        }
        report.phases["load"] = Date().timeIntervalSince(loadStarted)
        // The read-back only reads.
        try connection.execute("SET default_transaction_read_only = on")
        let compareStarted = Date()
        for table in manifest.tables {
            try compare(table, on: connection, into: &report)
        }
        report.phases["compare"] = Date().timeIntervalSince(compareStarted)
    }

    /// Streams every chunk into its table with COPY FROM STDIN, one connection per table
    /// (chunks of different tables may interleave in the tar).
    private func load(into report: inout VerificationReport) throws -> Bool {
        final class TableLoad {
            let connection: PostgresConnection
            let writer: CopyInWriter
            let decoder: RowDecoder
            let buffer = ByteBuffer(capacity: 512 * 1024)
            init(connection: PostgresConnection, writer: CopyInWriter, decoder: RowDecoder) {
                self.connection = connection
                self.writer = writer
                self.decoder = decoder
            }
        }
        var loads: [String: TableLoad] = [:]
        let (tar, object) = try openTar()
        let lines = LineSplitter(maxLineBytes: limits.maxRowBytes)
        while let entry = try tar.nextEntry() {
            guard let name = DeepCheck.tableName(ofChunk: entry.path), let table = definitions.first(where: { $0.qualifiedName == name }) else { continue }
            if loads[name] == nil {
                let columns = try table.columnSpecs()
                let connection = try scratch.connect()
                let writer = try connection.copyIn(TableDDL.copyFromStdin(table))
                loads[name] = TableLoad(connection: connection, writer: writer, decoder: RowDecoder(columns: columns))
            }
            let load = loads[name]!
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
                report.fail("\(entry.path):\(lineNumber)", "\(error)")
                return false
            } catch let error as LineSplitter.LineTooLong {
                report.fail("\(entry.path):\(error.line)", "\(error)")
                return false
            } catch let error as PostgresError {
                report.fail("restore \(name)", "loading \(entry.path) failed: \(error)")
                return false
            }
        }
        // The object read again must still be the sealed one.
        do { try object.finish() } catch let problem as SealProblem {
            report.fail(problem.location, problem.problem)
            return false
        }
        for (name, load) in loads.sorted(by: { $0.key < $1.key }) {
            do {
                try load.writer.write(load.buffer.bytes)
                try load.writer.finish()
            } catch {
                report.fail("restore \(name)", "the rows do not load into their declared types: \(error)")
                return false
            }
        }
        return true
    }

    /// Reads a restored table back in key order through the canonical encoder and compares its
    /// row count and digest with the manifest's.
    private func compare(_ table: Manifest.Table, on connection: PostgresConnection, into report: inout VerificationReport) throws {
        let plan = try TablePlan.resolve(
            TableSelection(table: table.qualifiedName, columns: table.columns.map(\.name), filter: nil, key: table.key), on: connection)
        let encoder = RowEncoder(columns: plan.columnSpecs, keyColumnIndexes: plan.keyColumnIndexes)
        let digest = TableDigest()
        let line = ByteBuffer(capacity: 4096)
        let rows = try connection.copyOut(plan.copyStatement)
        while try rows.next({ copyLine in
            line.removeAll()
            try encoder.encode(copyLine: copyLine, into: line)
            digest.add(row: line.bytes)
        }) {}
        let count = digest.rows
        let restored = digest.finalize().hex
        if count != table.rows || restored != table.digest {
            report.fail("restore \(table.qualifiedName)",
                        "read back from the scratch database: \(count) rows with digest \(restored); the archive has \(table.rows) rows, \(table.digest)"
                        + (try firstDifference(table, plan: plan, on: connection).map { " — first difference: \($0)" } ?? ""))
        }
        if let index = report.tables.firstIndex(where: { $0.name == table.qualifiedName }) {
            report.tables[index].restoredDigestMatches = count == table.rows && restored == table.digest
        }
    }

    /// Walks the archive's rows of `table` and the restored rows side by side (both in key
    /// order) and describes the first pair that differs.
    private func firstDifference(_ table: Manifest.Table, plan: TablePlan, on connection: PostgresConnection) throws -> String? {
        let archived = TableLines(tar: try openTar().0, table: table.qualifiedName, maxLine: limits.maxRowBytes)
        let encoder = RowEncoder(columns: plan.columnSpecs, keyColumnIndexes: plan.keyColumnIndexes)
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
            inTable = DeepCheck.tableName(ofChunk: entry.path) == table
        }
    }
}
