import CanonicalJSON
import Cryptography
@testable import DatabaseCatalog
@testable import Export
import XCTest

/// Cutting a table's rows into chunks: never a row split, a chunk at most the chunk size
/// unless one row alone is larger, the table digest over every row, keys unique.
final class ChunkerTests: XCTestCase {
    let plan = TablePlan(schema: "public", name: "t", columns: [
        .init(name: "id", declaredType: "integer", encoding: .integer, collatedByBytes: true, collatable: false),
        .init(name: "v", declaredType: "text", encoding: .text, collatedByBytes: false, collatable: true),
    ], keyColumns: ["id"], filter: nil)

    struct Cut {
        var chunks: [(rows: Int, bytes: [UInt8], firstKey: String, lastKey: String, sha256: String)] = []
        var totals: TableTotals?
    }

    /// Feeds COPY text rows `id\tvalue` through a chunker of `chunkSize` bytes.
    func cut(_ rows: [(Int, String)], chunkSize: Int) throws -> Cut {
        var cut = Cut()
        let pool = BufferPool(buffers: 4, capacity: 4096)
        let chunker = try Chunker(plan: plan, tableIndex: 0, chunkSize: chunkSize, pool: pool) { chunk in
            let bytes = [UInt8](chunk.buffer.bytes)
            cut.chunks.append((chunk.rows, bytes, chunk.firstKey, chunk.lastKey, chunk.sha256.hex))
            pool.give(chunk.buffer)
        }
        for (id, value) in rows {
            try Array("\(id)\t\(value)".utf8).withUnsafeBytes { try chunker.add(copyLine: $0) }
        }
        cut.totals = try chunker.finish()
        return cut
    }

    func line(_ id: Int, _ value: String) -> String { #"{"id":\#(id),"v":"\#(value)"}"# }

    func testChunksHoldWholeRowsUpToTheChunkSize() throws {
        let rows = (1...20).map { ($0, String(repeating: "x", count: $0 % 7 * 5)) }
        let cut = try cut(rows, chunkSize: 100)
        let expected = rows.map { line($0.0, $0.1) + "\n" }.joined()
        XCTAssertEqual(String(decoding: cut.chunks.flatMap(\.bytes), as: UTF8.self), expected, "the chunks together are every row, in order")
        XCTAssertGreaterThan(cut.chunks.count, 3)
        for chunk in cut.chunks {
            XCTAssertLessThanOrEqual(chunk.bytes.count, 100)
            XCTAssertEqual(chunk.bytes.last, UInt8(ascii: "\n"), "a chunk ends with a whole row")
            XCTAssertEqual(chunk.bytes.filter { $0 == UInt8(ascii: "\n") }.count, chunk.rows)
            XCTAssertEqual(chunk.sha256, SHA256Hasher.hash(chunk.bytes).hex)
        }
        XCTAssertEqual(cut.chunks.first?.firstKey, "[1]")
        XCTAssertEqual(cut.chunks.last?.lastKey, "[20]")
        // Each chunk's last key is followed by the next chunk's first key.
        for (a, b) in zip(cut.chunks, cut.chunks.dropFirst()) {
            XCTAssertEqual(Int(a.lastKey.dropFirst().dropLast()).map { $0 + 1 }, Int(b.firstKey.dropFirst().dropLast()))
        }
        let digest = TableDigest()
        for row in rows { _ = Array(line(row.0, row.1).utf8).withUnsafeBytes { digest.add(row: $0) } }
        XCTAssertEqual(cut.totals?.digest.hex, digest.finalize().hex)
        XCTAssertEqual(cut.totals?.rows, 20)
        XCTAssertEqual(cut.totals?.bytes, Int64(expected.utf8.count))
        XCTAssertEqual(cut.totals?.chunks, cut.chunks.count)
    }

    func testARowLargerThanAChunkStandsAlone() throws {
        let big = String(repeating: "y", count: 300)
        let cut = try cut([(1, "a"), (2, big), (3, "b")], chunkSize: 100)
        XCTAssertEqual(cut.chunks.map(\.rows), [1, 1, 1])
        XCTAssertEqual(String(decoding: cut.chunks[1].bytes, as: UTF8.self), line(2, big) + "\n")
    }

    func testAnEmptyTableHasNoChunkAndTheDigestOfNothing() throws {
        let cut = try cut([], chunkSize: 100)
        XCTAssertEqual(cut.chunks.count, 0)
        XCTAssertEqual(cut.totals?.digest.hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
    }

    func testADuplicateKeyIsRefused() throws {
        XCTAssertThrowsError(try cut([(1, "a"), (2, "b"), (2, "c")], chunkSize: 100)) { error in
            guard case ExportError.duplicateKey(let table, let key, let value) = error else { return XCTFail("\(error)") }
            XCTAssertEqual(table, "public.t")
            XCTAssertEqual(key, ["id"])
            XCTAssertEqual(value, "[2]")
        }
    }
}
