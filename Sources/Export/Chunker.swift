import CanonicalJSON
import Cryptography
import DatabaseCatalog
import Foundation

/// A finished chunk on its way from a table worker to the archive writer.
struct CompletedChunk {
    let tableIndex: Int
    let number: Int
    let buffer: ByteBuffer
    let rows: Int
    let sha256: Digest
    let firstKey: String
    let lastKey: String
}

/// Totals of one table, sent when its last chunk has been sent.
struct TableTotals {
    let rows: Int
    let bytes: Int64
    let chunks: Int
    package let digest: Digest
}

/// Cuts one table's canonical JSON lines into chunks of at most `chunkSize` bytes — never a
/// row split across two; a single row larger than that is a chunk of its own — and keeps the
/// table digest, the chunk's first and last keys, and the check that keys are unique.
final class Chunker {
    private let plan: TablePlan
    private let tableIndex: Int
    private let chunkSize: Int
    private let encoder: RowEncoder
    private let digest = TableDigest()
    private let pool: BufferPool
    private let emit: (CompletedChunk) throws -> Void

    /// The chunk being filled; nil once the table is finished and it went back to the pool.
    private var buffer: ByteBuffer!
    private var chunkNumber = 0
    private var chunkRows = 0
    private var firstKey = "[]"
    private var currentKey = ByteBuffer(capacity: 256)
    private var previousKey = ByteBuffer(capacity: 256)
    private var totalRows = 0
    private var totalBytes: Int64 = 0
    private let chunkHasher = SHA256Hasher()
    private let hasKey: Bool
    private let keyCount: Int

    init(plan: TablePlan, tableIndex: Int, chunkSize: Int, pool: BufferPool,
         emit: @escaping (CompletedChunk) throws -> Void) throws {
        self.plan = plan
        self.tableIndex = tableIndex
        self.chunkSize = chunkSize
        self.encoder = RowEncoder(columns: plan.columnSpecs, keyColumnIndexes: plan.keyColumnIndexes)
        self.pool = pool
        self.emit = emit
        self.buffer = try pool.take()
        self.hasKey = !plan.keyColumns.isEmpty
        self.keyCount = plan.keyColumns.count
    }

    /// Adds one COPY text row.
    func add(copyLine: UnsafeRawBufferPointer) throws {
        let rowStart = buffer.count
        let line = try encoder.encode(copyLine: copyLine, into: buffer)
        digest.add(row: buffer.bytes(line))
        buffer.append(UInt8(ascii: "\n"))
        captureKey()
        // A row no reader would accept with default settings is refused, not archived.
        if line.count > RowLimit.defaultBytes {
            throw ExportError.rowTooLarge(table: plan.qualifiedName, key: keyText(currentKey), bytes: line.count)
        }
        if hasKey, chunkRows + totalRows > 0, currentKey.count == previousKey.count,
           memcmp(currentKey.base, previousKey.base, currentKey.count) == 0 {
            throw ExportError.duplicateKey(table: plan.qualifiedName, key: plan.keyColumns, value: keyText(currentKey))
        }

        if buffer.count > chunkSize, chunkRows > 0 {
            // This row does not fit: the chunk ends before it, and it starts the next one.
            let next = try pool.take()
            next.append(buffer.bytes(rowStart..<buffer.count))
            buffer.count = rowStart
            try emitChunk(lastKey: keyText(previousKey))
            buffer = next
        }
        if chunkRows == 0 { firstKey = keyText(currentKey) }
        chunkRows += 1
        swap(&currentKey, &previousKey)
    }

    /// Sends the last chunk and returns the table's totals.
    package func finish() throws -> TableTotals {
        if chunkRows > 0 {
            try emitChunk(lastKey: keyText(previousKey))
        } else {
            pool.give(buffer)
        }
        buffer = nil
        return TableTotals(rows: totalRows, bytes: totalBytes, chunks: chunkNumber, digest: digest.finalize())
    }

    /// Sends the chunk in `buffer`, which then belongs to the writer.
    private func emitChunk(lastKey: String) throws {
        chunkNumber += 1
        chunkHasher.update(buffer.bytes)
        let chunk = CompletedChunk(
            tableIndex: tableIndex, number: chunkNumber, buffer: buffer, rows: chunkRows,
            sha256: chunkHasher.finalize(), firstKey: firstKey, lastKey: lastKey)
        totalRows += chunkRows
        totalBytes += Int64(buffer.count)
        chunkRows = 0
        buffer = nil
        try emit(chunk)
    }

    /// The key of the row just encoded, as its JSON array text, into `currentKey`.
    private func captureKey() {
        guard hasKey else { return }
        currentKey.removeAll()
        currentKey.append(UInt8(ascii: "["))
        for slot in 0..<keyCount {
            if slot > 0 { currentKey.append(UInt8(ascii: ",")) }
            currentKey.append(buffer.bytes(encoder.keyValueRange(slot)))
        }
        currentKey.append(UInt8(ascii: "]"))
    }

    private func keyText(_ key: ByteBuffer) -> String {
        hasKey ? String(decoding: key.bytes, as: UTF8.self) : "[]"
    }
}
