import ArchiveFormat
import ArchiveReading
import ByteStreams
import CanonicalJSON
import Cryptography
import Foundation
import Postgres
import Restore

/// Walks the tar stream of an archive: every chunk's bytes, SHA-256, rows, JSON validity and
/// row hashes, then compares all of it with the manifest (the last entry) and the seal.
struct DeepCheck {
    let seal: SealDocument
    var limits = ReadLimits()
    /// When the reading thread hashes the rows (`TarReadAhead` with this observer), the table
    /// digests come from it; else they are computed here.
    var rowHashing: RowHashing?

    /// Reading stopped at a problem that makes going on pointless or costly (a row past the
    /// seal's count, a line past the row limit); the problem is in the report.
    struct Stopped: Error {}

    /// What was observed of one chunk, in stream order.
    struct ObservedChunk {
        let path: String
        let rows: Int
        let bytes: Int64
        let sha256: String
        let firstKey: String
        let lastKey: String
    }

    /// Per table: its chunks as seen, the digest of its rows so far, and the key of the last
    /// row, against which the next must be strictly greater.
    final class ObservedTable {
        var chunks: [ObservedChunk] = []
        package let digest = TableDigest()
        var rows = 0
        var bytes: Int64 = 0
        var keyCheck: KeyCheck?
        /// The row shape the definitions declare; nil when they could not be read.
        var decoder: RowDecoder?
        /// The decoder accepts only valid JSON for every column of this table (all but
        /// pgseal/1's embedded json values, which it skips over): then a row that decodes needs
        /// no second, syntax-only pass.
        var decoderProvesJSON = false
        /// How many rows the signed seal says the table has: past it, lines are no longer read
        /// (the chunks' bytes are still hashed, to name the chunks that differ).
        var sealedRows = 0
        var overflowed = false
        /// The previous row's key values, back to back, and where each is (in key order).
        let previousKey = ByteBuffer(capacity: 256)
        var previousRanges: [Range<Int>] = []
        var hasPrevious = false
        var keyFailureReported = false
        /// The key before the last row that did not follow it.
        var keyBefore = "[]"
        /// Scratch for the current row's key ranges (in column order), reused every row.
        var currentRanges: [Range<Int>] = []

        /// Reads the key of `line`; returns whether it strictly follows the previous key, and
        /// makes it the previous one. Nil when the line has no readable key.
        func advance(to line: UnsafeRawBufferPointer) -> Bool? {
            guard let check = keyCheck else { return nil }
            if currentRanges.count != check.keyIndexes.count { currentRanges = Array(repeating: 0..<0, count: check.keyIndexes.count) }
            guard (try? RowDecoder.memberRanges(of: line, memberCount: check.memberCount, indexes: check.keyIndexes, into: &currentRanges)) != nil
            else { return nil }
            var follows = !hasPrevious
            if hasPrevious {
                for (slot, encoding) in check.order.encodings.enumerated() {
                    let result = KeyOrder.compare(previousKey.bytes(previousRanges[slot]),
                                                  UnsafeRawBufferPointer(rebasing: line[currentRanges[check.permutation[slot]]]), as: encoding)
                    if result != .orderedSame { follows = result == .orderedAscending; break }
                }
            }
            // Only on the failure path: the key the row should have followed, for the message.
            if !follows { keyBefore = previousKeyText }
            previousKey.removeAll()
            if previousRanges.count != check.permutation.count { previousRanges = Array(repeating: 0..<0, count: check.permutation.count) }
            for (slot, position) in check.permutation.enumerated() {
                let start = previousKey.count
                previousKey.append(UnsafeRawBufferPointer(rebasing: line[currentRanges[position]]))
                previousRanges[slot] = start..<previousKey.count
            }
            hasPrevious = true
            return follows
        }

        /// The previous key as a JSON array, for messages and the chunk's first/last keys.
        var previousKeyText: String {
            guard hasPrevious else { return "[]" }
            return "[" + previousRanges.map { String(decoding: previousKey.bytes($0), as: UTF8.self) }.joined(separator: ",") + "]"
        }
    }

    /// How to find and order one table's keys, from `tables.json`.
    struct KeyCheck {
        let memberCount: Int
        let keyIndexes: [Int]
        let order: KeyOrder

        /// Nil for a table without a key, and for keys whose order only the server knows (the
        /// restore level checks those, by adding the key).
        init?(_ table: TableDefinitions.Table) {
            guard !table.key.isEmpty else { return nil }
            let indexes = table.key.compactMap { key in table.columns.firstIndex { $0.name.isByteEqual(to: key) } }
            guard indexes.count == table.key.count else { return nil }
            guard indexes.allSatisfy({ index in
                ColumnEncoding(manifestName: table.columns[index].encoding)
                    .map { KeyComparator.sortsAsItsText($0, declaredType: table.columns[index].type) } ?? false
            }) else { return nil }
            let sorted = indexes.sorted()
            memberCount = table.columns.count
            keyIndexes = sorted
            // memberValues returns values in column order; keys compare in key order.
            order = KeyOrder(encodings: indexes.map { ColumnEncoding(manifestName: table.columns[$0].encoding) ?? .text })
            permutation = indexes.compactMap { sorted.firstIndex(of: $0) }
        }

        /// For each key column in key order, its position among the values read in column order.
        let permutation: [Int]


    }

    /// Returns the manifest when it could be read and matches the seal.
    @discardableResult
    func run(_ tar: TarEntryStream, into report: inout VerificationReport) throws -> Manifest? {
        var tables: [String: ObservedTable] = [:]
        var manifestBytes: [UInt8]?
        var definitions: TableDefinitions?
        let lines = LineSplitter(maxLineBytes: limits.maxRowBytes)
        let chunkHasher = SHA256Hasher()
        // A read-ahead stream hashes each entry on its own thread.
        let hashesChunks = !(tar is TarReadAhead)
        var entryNumber = 0
        while let entry = try tar.nextEntry() {
            entryNumber += 1
            if entry.path == TableDefinitions.entryPath {
                if entryNumber != 1 { report.fail("tar", "tables.json is not the first entry") }
                let bytes = try tar.readAll(entry, limit: ArchiveManifest.sizeLimit)
                if let sealed = seal.tablesSHA256, SHA256Hasher.hash(bytes).hex != sealed {
                    report.fail("tables.json", "SHA-256 differs from the seal's tables_sha256: the definitions were altered")
                    throw Stopped()
                }
                do {
                    definitions = try TableDefinitions.decode(bytes)
                } catch {
                    report.fail("tables.json", "not valid table definitions: \(error)")
                }
                for table in definitions?.tables ?? [] {
                    let observed = ObservedTable()
                    observed.keyCheck = KeyCheck(table)
                    if observed.keyCheck == nil, !table.key.isEmpty {
                        report.notes.append("\(table.qualifiedName): the order of its key (\(table.key.joined(separator: ", "))) follows the server's rules for its types; it is checked at the restore level, where the key is added")
                    }
                    if definitions?.format == "pgseal/1" {
                        let ambiguous = table.columns.filter { $0.encoding == "json" || $0.encoding.hasPrefix("array:") }.map(\.name)
                        if !ambiguous.isEmpty {
                            report.notes.append("\(table.qualifiedName): a pgseal/1 archive: in \(ambiguous.joined(separator: ", ")) a JSON null is not told from SQL NULL, json white space and array lower bounds were not kept (FORMAT.md §3.1)")
                        }
                    }
                    observed.decoder = try? table.rowDecoder()
                    if observed.decoder == nil { report.fail("tables.json", "table \(table.qualifiedName) declares an encoding this reader does not know") }
                    observed.decoderProvesJSON = observed.decoder?.columns.allSatisfy { $0.encoding != .json && $0.encoding.elementEncoding != .json } ?? false
                    observed.sealedRows = seal.tables.first { $0.name == table.qualifiedName }?.rows ?? 0
                    tables[table.qualifiedName] = observed
                }
                continue
            }
            if entryNumber == 1 { report.fail("tar", "the first entry is \(entry.path), not tables.json: keys cannot be checked") }
            if manifestBytes != nil {
                report.fail("tar", "entry \(entry.path) follows manifest.json, which must be last")
                return nil
            }
            if entry.path == Manifest.entryPath {
                manifestBytes = try tar.readAll(entry, limit: ArchiveManifest.sizeLimit)
                continue
            }
            guard let table = ChunkPath.tableName(of: entry.path) else {
                report.fail(entry.path, "an entry the format does not define")
                continue
            }
            guard let observed = tables[table] else {
                report.fail(entry.path, "a chunk of a table that tables.json does not define")
                continue
            }
            var rows = 0
            var bytes: Int64 = 0
            var invalidLine: (line: Int, reason: String)?
            var firstKey = "[]"
            var keyProblem: String?
            do {
                try tar.forEachBlock { block in
                    if hashesChunks { chunkHasher.update(block) }
                    bytes += Int64(block.count)
                    guard !observed.overflowed else { return }
                    try lines.feed(block) { line in
                        rows += 1
                        guard let total = observed.rows.adding(checked: rows), total <= observed.sealedRows else {
                            report.fail("\(entry.path):\(rows)", "table \(table) has more rows than the \(observed.sealedRows) the signed seal states; its further lines are not read")
                            observed.overflowed = true
                            throw Stopped()
                        }
                        if invalidLine == nil, let decoder = observed.decoder {
                            do {
                                try decoder.validate(line: line)
                                if !observed.decoderProvesJSON, !JSONLineValidator.isValid(line) { invalidLine = (rows, "not valid JSON") }
                            } catch {
                                // The syntax check runs only here, to name the kind of damage.
                                invalidLine = (rows, JSONLineValidator.isValid(line) ? "\(error)" : "not valid JSON")
                            }
                        } else if invalidLine == nil, !JSONLineValidator.isValid(line) {
                            invalidLine = (rows, "not valid JSON")
                        }
                        if rowHashing == nil { observed.digest.add(row: line) }
                        guard let follows = observed.advance(to: line) else { return }
                        if !follows, keyProblem == nil, !observed.keyFailureReported {
                            keyProblem = "line \(rows): key \(observed.previousKeyText) does not follow \(observed.keyBefore): a duplicate or a row out of key order"
                        }
                        if rows == 1 { firstKey = observed.previousKeyText }
                    }
                }
            } catch let tooLong as LineSplitter.LineTooLong {
                report.fail("\(entry.path):\(tooLong.line)", "\(tooLong)")
                throw Stopped()
            } catch is Stopped {
                // Past the seal's row count: the rest of the chunk is hashed, not split.
                try tar.forEachBlock { block in
                    if hashesChunks { chunkHasher.update(block) }
                    bytes += Int64(block.count)
                }
                _ = lines.endHasPartialLine()
            }
            if let keyProblem {
                report.fail(entry.path, keyProblem)
                observed.keyFailureReported = true
            }
            if lines.endHasPartialLine() { report.fail(entry.path, LineSplitter.cutLastLine) }
            if let invalidLine { report.fail("\(entry.path):\(invalidLine.line)", invalidLine.reason) }
            observed.chunks.append(ObservedChunk(
                path: entry.path, rows: rows, bytes: bytes, sha256: (hashesChunks ? chunkHasher.finalize() : tar.lastEntrySHA256 ?? chunkHasher.finalize()).hex,
                firstKey: firstKey, lastKey: rows > 0 ? observed.previousKeyText : "[]"))
            observed.rows += rows
            observed.bytes += bytes
        }
        guard let manifestBytes else {
            report.fail("tar", "the archive has no manifest.json: it is incomplete")
            return nil
        }
        let manifestDigest = SHA256Hasher.hash(manifestBytes).hex
        guard manifestDigest == seal.manifestSHA256 else {
            report.fail("manifest.json", "SHA-256 \(manifestDigest) differs from the seal's \(seal.manifestSHA256): the manifest was altered")
            return nil
        }
        let manifest = try ArchiveManifest.decode(manifestBytes)
        if let definitions, definitions != TableDefinitions(manifest: manifest) {
            report.fail("tables.json", "the table definitions differ from the manifest's")
        }
        compare(manifest: manifest, observed: tables, into: &report)
        return manifest
    }

    package func compare(manifest: Manifest, observed: [String: ObservedTable], into report: inout VerificationReport) {
        for name in observed.keys.sorted() where !manifest.tables.contains(where: { $0.qualifiedName == name }) && !(observed[name]?.chunks.isEmpty ?? true) {
            report.fail("data/\(name)/", "chunks of a table the manifest does not list")
        }
        for table in manifest.tables {
            let seen = observed[table.qualifiedName] ?? ObservedTable()
            let listed = table.chunks
            for (index, chunk) in listed.enumerated() {
                guard index < seen.chunks.count else {
                    report.fail(chunk.path, "listed in the manifest but missing from the archive")
                    continue
                }
                let found = seen.chunks[index]
                if found.path != chunk.path {
                    report.fail(found.path, "found where the manifest lists \(chunk.path): chunks missing or out of order")
                } else if found.bytes != chunk.bytes || found.sha256 != chunk.sha256 {
                    report.fail(chunk.path, "SHA-256 or size differs from the manifest: the chunk was altered")
                } else if found.rows != chunk.rows {
                    report.fail(chunk.path, "\(found.rows) rows, the manifest says \(chunk.rows)")
                } else if seen.keyCheck != nil, !Self.sameKey(found.firstKey, chunk.firstKey) || !Self.sameKey(found.lastKey, chunk.lastKey) {
                    report.fail(chunk.path, "first and last keys \(found.firstKey) … \(found.lastKey) differ from the manifest's")
                }
            }
            for extra in seen.chunks.dropFirst(listed.count) {
                report.fail(extra.path, "a chunk the manifest does not list")
            }
            // From the reading thread when it hashed the rows; a table it could not read
            // (a line past the limit) has failed already, and shows no digest.
            let digest = rowHashing.map { $0.digest(of: table.qualifiedName)?.finalize().hex ?? "unread" } ?? seen.digest.finalize().hex
            let sealTable = seal.tables.first { $0.name == table.qualifiedName }
            let matches = digest == table.digest && seen.rows == table.rows
                && sealTable?.digest == table.digest && sealTable?.rows == table.rows
            if !matches {
                report.fail("table \(table.qualifiedName)", "\(seen.rows) rows with digest \(digest); the manifest says \(table.rows) rows, \(table.digest)"
                            + (sealTable == nil ? "; the seal does not list the table" : ""))
            }
            report.tables.append(.init(name: table.qualifiedName, rows: seen.rows, bytes: seen.bytes, digest: digest, digestMatches: matches))
        }
    }

    static func sameKey(_ observed: String, _ listed: [JSONValue]) -> Bool {
        (try? JSONDecoder().decode([JSONValue].self, from: Data(observed.utf8))) == listed
    }
}
