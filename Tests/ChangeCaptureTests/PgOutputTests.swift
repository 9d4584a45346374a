import ChangeCapture
import XCTest

/// Messages built here byte by byte as the protocol documentation lays them out; the end-to-end
/// test (EndToEndTests/ChangeStreamTests) reads the same kinds from a real server.
final class PgOutputTests: XCTestCase {
    struct Message {
        var bytes: [UInt8] = []
        mutating func byte(_ value: UInt8) { bytes.append(value) }
        mutating func char(_ text: String) { bytes.append(contentsOf: text.utf8) }
        mutating func int(_ value: UInt64, width: Int) {
            for shift in stride(from: (width - 1) * 8, through: 0, by: -8) { bytes.append(UInt8(truncatingIfNeeded: value >> UInt64(shift))) }
        }
        mutating func string(_ text: String) { bytes.append(contentsOf: text.utf8); bytes.append(0) }
        mutating func text(_ value: String) { char("t"); int(UInt64(value.utf8.count), width: 4); char(value) }
    }

    func decode(_ message: Message) throws -> PgOutputMessage {
        try message.bytes.withUnsafeBytes { raw throws(WireError) in try PgOutputMessage.decode(raw) }
    }

    var relation: Message {
        var m = Message()
        m.char("R"); m.int(16385, width: 4); m.string("public"); m.string("users"); m.char("d"); m.int(3, width: 2)
        m.byte(1); m.string("id"); m.int(2950, width: 4); m.int(UInt64(UInt32.max), width: 4)
        m.byte(0); m.string("email"); m.int(25, width: 4); m.int(UInt64(UInt32.max), width: 4)
        m.byte(0); m.string("notes"); m.int(25, width: 4); m.int(UInt64(UInt32.max), width: 4)
        return m
    }

    func testEachKindDecodesAsTheProtocolLaysItOut() throws {
        var begin = Message()
        begin.char("B"); begin.int(0x16_B374_D848, width: 8); begin.int(123_456, width: 8); begin.int(731, width: 4)
        XCTAssertEqual(try decode(begin), .begin(finalLSN: LSN(0x16_B374_D848), committedAt: 123_456, xid: 731))
        XCTAssertEqual(LSN(0x16_B374_D848).description, "16/B374D848")
        XCTAssertEqual(LSN("16/B374D848"), LSN(0x16_B374_D848))

        guard case .relation(let users) = try decode(relation) else { return XCTFail("not a relation") }
        XCTAssertEqual(users.name, "users")
        XCTAssertEqual(users.columns.map(\.name), ["id", "email", "notes"])
        XCTAssertEqual(users.columns.map(\.isKey), [true, false, false])
        XCTAssertEqual(users.columns.first?.typeModifier, -1)

        // An update that changed the key and left a TOASTed column as it was.
        var update = Message()
        update.char("U"); update.int(16385, width: 4)
        update.char("K"); update.int(3, width: 2); update.text("old-id"); update.char("n"); update.char("n")
        update.char("N"); update.int(3, width: 2); update.text("new-id"); update.text("a@example.com"); update.char("u")
        XCTAssertEqual(try decode(update), .update(relation: 16385, old: .key([.text(Array("old-id".utf8)), .null, .null]),
                                                   new: [.text(Array("new-id".utf8)), .text(Array("a@example.com".utf8)), .unchangedToast]))

        var delete = Message()
        delete.char("D"); delete.int(16385, width: 4); delete.char("K"); delete.int(1, width: 2); delete.text("x")
        XCTAssertEqual(try decode(delete), .delete(relation: 16385, old: .key([.text([UInt8(ascii: "x")])])))

        var truncate = Message()
        truncate.char("T"); truncate.int(2, width: 4); truncate.byte(3); truncate.int(16385, width: 4); truncate.int(16390, width: 4)
        XCTAssertEqual(try decode(truncate), .truncate(relations: [16385, 16390], cascade: true, restartIdentity: true))

        var commit = Message()
        commit.char("C"); commit.byte(0); commit.int(10, width: 8); commit.int(20, width: 8); commit.int(30, width: 8)
        XCTAssertEqual(try decode(commit), .commit(commitLSN: LSN(10), endLSN: LSN(20), committedAt: 30))
    }

    /// Every prefix of every valid message is refused with an error naming a field — no trap,
    /// no partial message believed.
    func testEveryTruncationIsAnErrorNeverATrap() throws {
        var insert = Message()
        insert.char("I"); insert.int(16385, width: 4); insert.char("N"); insert.int(2, width: 2); insert.text("id"); insert.char("n")
        for message in [relation, insert] {
            for length in 0..<message.bytes.count {
                let prefix = Array(message.bytes.prefix(length))
                XCTAssertThrowsError(try prefix.withUnsafeBytes { raw throws(WireError) in try PgOutputMessage.decode(raw) }, "prefix of \(length) bytes")
            }
            var longer = message
            longer.byte(0)
            XCTAssertThrowsError(try decode(longer), "a byte after the end")
        }
    }

    func testHostileCountsAndLengthsAreRefusedWithinBounds() throws {
        var columns = Message()
        columns.char("I"); columns.int(1, width: 4); columns.char("N"); columns.int(65535, width: 2)
        XCTAssertThrowsError(try decode(columns)) { XCTAssertTrue("\($0)".contains("column count"), "\($0)") }
        var length = Message()
        length.char("I"); length.int(1, width: 4); length.char("N"); length.int(1, width: 2); length.char("t"); length.int(UInt64(UInt32.max), width: 4)
        XCTAssertThrowsError(try decode(length)) { XCTAssertTrue("\($0)".contains("value length"), "\($0)") }
        var relations = Message()
        relations.char("T"); relations.int(UInt64(UInt32.max), width: 4); relations.byte(0)
        XCTAssertThrowsError(try decode(relations))
        var name = Message()
        name.char("Y"); name.int(1, width: 4); name.char(String(repeating: "x", count: 5000)); name.byte(0); name.string("t")
        XCTAssertThrowsError(try decode(name)) { XCTAssertTrue("\($0)".contains("longer than"), "\($0)") }
        var notUTF8 = Message()
        notUTF8.char("Y"); notUTF8.int(1, width: 4); notUTF8.bytes += [0xFF, 0xFE, 0]; notUTF8.string("t")
        XCTAssertThrowsError(try decode(notUTF8)) { XCTAssertTrue("\($0)".contains("UTF-8"), "\($0)") }
        var binary = Message()
        binary.char("I"); binary.int(1, width: 4); binary.char("N"); binary.int(1, width: 2); binary.char("b"); binary.int(1, width: 4); binary.byte(7)
        XCTAssertThrowsError(try decode(binary), "binary values are not asked for")
    }

    /// Random bytes, and random bytes after a valid kind letter, never trap.
    func testRandomBytesNeverTrap() {
        var generator = SystemRandomNumberGenerator()
        var refused = 0
        for round in 0..<20_000 {
            var bytes = (0..<Int.random(in: 0...64, using: &generator)).map { _ in UInt8.random(in: 0...255, using: &generator) }
            if !bytes.isEmpty { bytes[0] = Array("BCORYIUDTMwk".utf8)[round % 12] }
            let outcome = bytes.withUnsafeBytes { raw in (try? PgOutputMessage.decode(raw)) == nil && (try? ReplicationMessage.decode(raw)) == nil }
            if outcome { refused += 1 }
        }
        XCTAssertGreaterThan(refused, 0)
    }

    func testReplicationMessagesAndTheStatusUpdate() throws {
        var keepalive = Message()
        keepalive.char("k"); keepalive.int(0x1_0000_0010, width: 8); keepalive.int(99, width: 8); keepalive.byte(1)
        XCTAssertEqual(try keepalive.bytes.withUnsafeBytes { raw throws(WireError) in try ReplicationMessage.decode(raw) },
                       .keepalive(end: LSN("1/10")!, sentAt: 99, replyRequested: true))
        var wal = Message()
        wal.char("w"); wal.int(5, width: 8); wal.int(6, width: 8); wal.int(7, width: 8); wal.char("B")
        XCTAssertEqual(try wal.bytes.withUnsafeBytes { raw throws(WireError) in try ReplicationMessage.decode(raw) },
                       .walData(start: LSN(5), end: LSN(6), sentAt: 7, payload: [UInt8(ascii: "B")]))
        let update = ReplicationMessage.statusUpdate(written: LSN(1), flushed: LSN(2), applied: LSN(3), at: 4)
        XCTAssertEqual(update.count, 34)
        XCTAssertEqual(update.first, UInt8(ascii: "r"))
        XCTAssertEqual(Array(update[9...16]), [0, 0, 0, 0, 0, 0, 0, 2])
        XCTAssertNil(LSN("16/"))
        XCTAssertNil(LSN("1/2/3"))
        XCTAssertNil(LSN("123456789/0"))
        XCTAssertNil(LSN("+1/0"))
    }
}
