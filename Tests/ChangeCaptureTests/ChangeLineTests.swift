@testable import CanonicalJSON
import ChangeCapture
import XCTest

/// Change lines as docs/FORMAT.md §11 (draft) writes them, and transactions assembled from
/// pgoutput's messages.
final class ChangeLineTests: XCTestCase {
    let users = ChangeTable(name: "public.users", columns: [
        ColumnSpec(name: "id", encoding: .integer), ColumnSpec(name: "email", encoding: .text),
        ColumnSpec(name: "bio", encoding: .text), ColumnSpec(name: "active", encoding: .boolean),
    ], keyColumns: [0])
    let stamp = CommitStamp(xid: 731, commitLSN: LSN(0x1_0092_AA30), committedAt: 849_723_307_123_456)

    func line(_ change: RowChange) throws -> String {
        let out = ByteBuffer()
        try ChangeLine.append(change, of: users, stamp: stamp, to: out)
        return String(decoding: UnsafeRawBufferPointer(start: out.base, count: out.count), as: UTF8.self)
    }

    func t(_ text: String) -> PgOutputMessage.TupleValue { .text(Array(text.utf8)) }

    func testCommitTimesAreRFC3339InUTCWithMicroseconds() {
        XCTAssertEqual(stamp.committedAtText, "2026-12-04T18:15:07.123456Z")
        XCTAssertEqual(CommitStamp(xid: 0, commitLSN: .zero, committedAt: 0).committedAtText, "2000-01-01T00:00:00.000000Z")
        XCTAssertEqual(CommitStamp(xid: 0, commitLSN: .zero, committedAt: -1).committedAtText, "1999-12-31T23:59:59.999999Z")
        XCTAssertEqual(CommitStamp(xid: 0, commitLSN: .zero, committedAt: -946_684_800_000_000).committedAtText, "1970-01-01T00:00:00.000000Z")
        XCTAssertEqual(CommitStamp(xid: 0, commitLSN: .zero, committedAt: 762_566_399_999_999).committedAtText, "2024-02-29T23:59:59.999999Z")
    }

    func testEachOperationIsOneCanonicalLine() throws {
        let head = #"{"lsn":"1/92AA30","xid":731,"committed_at":"2026-12-04T18:15:07.123456Z","#
        XCTAssertEqual(try line(RowChange(operation: .insert, table: "public.users", row: [t("7"), t("a\"b@example.com"), .null, t("t")], oldKey: nil)),
                       head + #""op":"insert","table":"public.users","key":[7],"row":{"id":7,"email":"a\"b@example.com","bio":null,"active":true}}"#)
        // An update that left the TOASTed bio alone: absent from the row, named as unchanged.
        XCTAssertEqual(try line(RowChange(operation: .update, table: "public.users", row: [t("7"), t("new@example.com"), .unchangedToast, t("f")], oldKey: nil)),
                       head + #""op":"update","table":"public.users","key":[7],"row":{"id":7,"email":"new@example.com","active":false},"unchanged":["bio"]}"#)
        // An update of the key: the old key too.
        XCTAssertEqual(try line(RowChange(operation: .update, table: "public.users", row: [t("8"), t("x"), .null, t("t")], oldKey: [t("7"), .null, .null, .null])),
                       head + #""op":"update","table":"public.users","key":[8],"old_key":[7],"row":{"id":8,"email":"x","bio":null,"active":true}}"#)
        // REPLICA IDENTITY FULL sends the old row with every update: an unchanged key is not repeated.
        XCTAssertEqual(try line(RowChange(operation: .update, table: "public.users", row: [t("8"), t("y"), .null, t("t")], oldKey: [t("8"), t("x"), .null, t("t")])),
                       head + #""op":"update","table":"public.users","key":[8],"row":{"id":8,"email":"y","bio":null,"active":true}}"#)
        XCTAssertEqual(try line(RowChange(operation: .delete, table: "public.users", row: nil, oldKey: [t("8"), .null, .null, .null])),
                       head + #""op":"delete","table":"public.users","key":[8]}"#)
        let out = ByteBuffer()
        ChangeLine.appendTruncate(of: ["public.users", "public.user_profiles"], stamp: stamp, to: out)
        XCTAssertEqual(String(decoding: UnsafeRawBufferPointer(start: out.base, count: out.count), as: UTF8.self),
                       head + #""op":"truncate","tables":["public.users","public.user_profiles"]}"#)
    }

    /// What the writer writes reads back; a line whose key is not its row's key columns, or
    /// whose old key is its key, is not one the writer writes (FORMAT.md §11.4), and is refused.
    func testTheDecoderReadsWhatTheWriterWritesAndRefusesAKeyThatIsNotTheRows() throws {
        let decoder = ChangeLineDecoder(tables: ["public.users": .init(columns: users.columns, keyColumns: users.keyColumns)])
        func decode(_ text: String) throws -> ChangeLineDecoder.Change {
            var bytes = Array(text.utf8)
            return try bytes.withUnsafeMutableBytes { try decoder.decode(UnsafeRawBufferPointer($0)) }
        }
        let moved = try line(RowChange(operation: .update, table: "public.users", row: [t("8"), t("x"), .null, t("t")], oldKey: [t("7"), .null, .null, .null]))
        let change = try decode(moved)
        XCTAssertEqual(change.key, ["8"])
        XCTAssertEqual(change.oldKey, ["7"])
        for (forged, reason) in [(moved.replacingOccurrences(of: #""key":[8]"#, with: #""key":[9]"#), "key is not the row's key columns"),
                                 (moved.replacingOccurrences(of: #""old_key":[7]"#, with: #""old_key":[8]"#), "old_key is the key")] {
            XCTAssertThrowsError(try decode(forged), forged) { XCTAssertTrue("\($0)".contains(reason), "\($0)") }
        }
    }

    func testChangesThatDoNotFitTheDefinitionAreRefused() {
        XCTAssertThrowsError(try line(RowChange(operation: .insert, table: "public.users", row: [t("7")], oldKey: nil))) {
            XCTAssertTrue("\($0)".contains("changed while it was followed"), "\($0)")
        }
        XCTAssertThrowsError(try line(RowChange(operation: .update, table: "public.users", row: [.unchangedToast, t("x"), .null, t("t")], oldKey: nil))) {
            XCTAssertTrue("\($0)".contains("a key must be sent"), "\($0)")
        }
        XCTAssertThrowsError(try line(RowChange(operation: .delete, table: "public.users", row: nil, oldKey: nil)))
        let keyless = ChangeTable(name: "public.log", columns: [ColumnSpec(name: "line", encoding: .text)], keyColumns: [])
        XCTAssertThrowsError(try ChangeLine.append(RowChange(operation: .insert, table: "public.log", row: [t("x")], oldKey: nil), of: keyless, stamp: stamp, to: ByteBuffer())) {
            XCTAssertTrue("\($0)".contains("REPLICA IDENTITY"), "\($0)")
        }
    }

    func testTransactionsAssembleBetweenBeginAndCommit() throws {
        var assembler = TransactionAssembler(maxBytes: 1000)
        let relation = PgOutputMessage.Relation(id: 5, namespace: "public", name: "users", replicaIdentity: UInt8(ascii: "d"), columns: [])
        XCTAssertNil(try assembler.take(.relation(relation)))
        XCTAssertNil(try assembler.take(.begin(finalLSN: LSN(100), committedAt: 1, xid: 9)))
        XCTAssertNil(try assembler.take(.insert(relation: 5, new: [t("1")])))
        XCTAssertNil(try assembler.take(.truncate(relations: [5], cascade: false, restartIdentity: false)))
        let done = try XCTUnwrap(try assembler.take(.commit(commitLSN: LSN(100), endLSN: LSN(120), committedAt: 1)))
        XCTAssertEqual(done.stamp, CommitStamp(xid: 9, commitLSN: LSN(100), committedAt: 1))
        XCTAssertEqual(done.changes, [.row(RowChange(operation: .insert, table: "public.users", row: [t("1")], oldKey: nil)), .truncate(tables: ["public.users"])])

        XCTAssertThrowsError(try assembler.take(.commit(commitLSN: LSN(1), endLSN: LSN(2), committedAt: 0)), "a Commit outside a transaction")
        XCTAssertThrowsError(try assembler.take(.insert(relation: 5, new: [])), "a change outside a transaction")
        XCTAssertNil(try assembler.take(.begin(finalLSN: LSN(200), committedAt: 1, xid: 10)))
        XCTAssertThrowsError(try assembler.take(.insert(relation: 6, new: []))) { XCTAssertEqual($0 as? TransactionAssembler.AssemblyError, .unknownRelation(6)) }
        XCTAssertThrowsError(try assembler.take(.insert(relation: 5, new: [t(String(repeating: "x", count: 2000))]))) {
            XCTAssertEqual($0 as? TransactionAssembler.AssemblyError, .tooLarge(xid: 10, limit: 1000))
        }
        XCTAssertThrowsError(try assembler.take(.commit(commitLSN: LSN(201), endLSN: LSN(220), committedAt: 1)), "a Commit at another position than its Begin said")
    }
}
