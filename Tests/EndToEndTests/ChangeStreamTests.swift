@testable import CanonicalJSON
import ChangeCapture
import DatabaseCatalog
import Foundation
import PGSealKit
import Postgres
import TestSupport
import XCTest

/// The first step of change archives (issue 27): a real server started with
/// `wal_level = logical` streams a publication's changes through a logical slot, spoken through
/// libpq's replication protocol, and pgseal decodes them — the cases CDC tools got wrong
/// included: an update that leaves a TOASTed value alone, an update of the key, TRUNCATE.
final class ChangeStreamTests: XCTestCase {
    /// A decoded change, in a form a test can compare.
    struct Change: Equatable {
        var kind: String
        var values: [String?]
        var oldKey: [String?]?
    }

    func text(_ values: [PgOutputMessage.TupleValue]) -> [String?] {
        values.map { value in
            switch value {
            case .null: nil
            case .unchangedToast: "<unchanged>"
            case .text(let bytes): String(decoding: bytes, as: UTF8.self)
            }
        }
    }

    func testAPublicationsChangesStreamThroughALogicalSlotAndDecode() throws {
        let server = try PostgresServer.shared()
        let database = try server.emptyDatabase(label: "changes", for: self)
        _ = try server.psql("""
            CREATE TABLE items (id int PRIMARY KEY, note text, big text);
            ALTER TABLE items ALTER COLUMN big SET STORAGE EXTERNAL;
            CREATE PUBLICATION pgseal_test FOR TABLE items;
            """, database: database)
        let url = server.url(database: database)
        let replication = try PostgresConnection(replicationConninfo: url)
        let slot = try replication.replicationCommand("CREATE_REPLICATION_SLOT pgseal_test_slot TEMPORARY LOGICAL pgoutput (SNAPSHOT 'nothing')")
        let consistent = try XCTUnwrap(slot.rows.first?[1].flatMap { LSN($0) }, "the slot's consistent point")

        let big = String(repeating: "0123456789abcdef", count: 1024)  // 16 KiB, stored out of line
        // Two transactions (psql -c runs its statements as one).
        _ = try server.psql("""
            INSERT INTO items VALUES (1, 'first', '\(big)'), (2, 'second', NULL);
            UPDATE items SET note = 'first, edited' WHERE id = 1;
            """, database: database)
        _ = try server.psql("""
            UPDATE items SET id = 20 WHERE id = 2;
            DELETE FROM items WHERE id = 20;
            TRUNCATE items;
            """, database: database)

        let stream = try replication.startReplication("START_REPLICATION SLOT pgseal_test_slot LOGICAL \(consistent) (proto_version '1', publication_names 'pgseal_test')")
        var relations: [UInt32: PgOutputMessage.Relation] = [:]
        var changes: [Change] = []
        var commits: [LSN] = []
        var truncated = false
        let deadline = Date().addingTimeInterval(30)
        var committedAfterTruncate = false
        var assembler = TransactionAssembler()
        let items = ChangeTable(name: "public.items", columns: [ColumnSpec(name: "id", encoding: .integer), ColumnSpec(name: "note", encoding: .text),
                                                               ColumnSpec(name: "big", encoding: .text)], keyColumns: [0])
        var lines: [String] = []
        while !committedAfterTruncate, Date() < deadline {
            var decoded: ReplicationMessage?
            let next = try stream.next(timeout: 1) { bytes in decoded = try ReplicationMessage.decode(bytes) }
            guard next == .message, let decoded else { continue }
            switch decoded {
            case .keepalive(let serverEnd, _, let reply):
                if reply {
                    try stream.send(ReplicationMessage.statusUpdate(written: serverEnd, flushed: commits.last ?? consistent, applied: commits.last ?? consistent,
                                                                    at: ReplicationMessage.postgresTime(unixSeconds: Date().timeIntervalSince1970)))
                }
            case .walData(_, _, _, let payload):
                let message = try payload.withUnsafeBytes { raw throws(WireError) in try PgOutputMessage.decode(raw) }
                if let transaction = try assembler.take(message) {
                    for change in transaction.changes {
                        let out = ByteBuffer()
                        switch change {
                        case .row(let row): try ChangeLine.append(row, of: items, stamp: transaction.stamp, to: out)
                        case .truncate(let tables): ChangeLine.appendTruncate(of: tables, stamp: transaction.stamp, to: out)
                        }
                        lines.append(String(decoding: UnsafeRawBufferPointer(start: out.base, count: out.count), as: UTF8.self))
                    }
                }
                switch message {
                case .relation(let relation): relations[relation.id] = relation
                case .insert(let relation, let new):
                    XCTAssertEqual(relations[relation]?.name, "items")
                    changes.append(Change(kind: "insert", values: text(new), oldKey: nil))
                case .update(_, let old, let new):
                    var oldKey: [String?]?
                    if case .key(let key) = old { oldKey = text(key) }
                    changes.append(Change(kind: "update", values: text(new), oldKey: oldKey))
                case .delete(_, let old):
                    if case .key(let key) = old { changes.append(Change(kind: "delete", values: [], oldKey: text(key))) }
                case .truncate(let ids, _, _):
                    XCTAssertEqual(ids.compactMap { relations[$0]?.name }, ["items"])
                    changes.append(Change(kind: "truncate", values: [], oldKey: nil))
                    truncated = true
                case .commit(let commitLSN, _, _):
                    commits.append(commitLSN)
                    committedAfterTruncate = truncated
                default: break
                }
            }
        }
        XCTAssertEqual(changes, [
            Change(kind: "insert", values: ["1", "first", big], oldKey: nil),
            Change(kind: "insert", values: ["2", "second", nil], oldKey: nil),
            // The TOASTed column the update left alone is "unchanged", never empty or null.
            Change(kind: "update", values: ["1", "first, edited", "<unchanged>"], oldKey: nil),
            Change(kind: "update", values: ["20", "second", nil], oldKey: ["2", nil, nil]),
            Change(kind: "delete", values: [], oldKey: ["20", nil, nil]),
            Change(kind: "truncate", values: [], oldKey: nil),
        ])
        XCTAssertEqual(commits.count, 2, "a commit per transaction: \(commits)")
        // The same changes as change lines (docs/FORMAT.md §11), the commit's stamp on each.
        XCTAssertEqual(lines.count, 6)
        let bodies = lines.map { line in line.range(of: #""op":"#).map { String(line[$0.lowerBound...]) } ?? line }
        XCTAssertEqual(bodies, [
            #""op":"insert","table":"public.items","key":[1],"row":{"id":1,"note":"first","big":"\#(big)"}}"#,
            #""op":"insert","table":"public.items","key":[2],"row":{"id":2,"note":"second","big":null}}"#,
            #""op":"update","table":"public.items","key":[1],"row":{"id":1,"note":"first, edited"},"unchanged":["big"]}"#,
            #""op":"update","table":"public.items","key":[20],"old_key":[2],"row":{"id":20,"note":"second","big":null}}"#,
            #""op":"delete","table":"public.items","key":[20]}"#,
            #""op":"truncate","tables":["public.items"]}"#,
        ])
        XCTAssertTrue(lines.allSatisfy { $0.hasPrefix(#"{"lsn":""#) && $0.contains(#""committed_at":""#) }, "\(lines)")
        XCTAssertEqual(Set(lines.prefix(3).map { $0.prefix(30) }).count, 1, "one stamp for the first transaction's changes")
        XCTAssertEqual(commits, commits.sorted(), "commit positions only grow")
        XCTAssertTrue(commits.allSatisfy { $0 > consistent }, "every change after the slot's consistent point")
    }
}

/// What following needs of the server, the role and the tables, each missing piece named with
/// what to run — against real servers, one of them started with `wal_level = replica`.
final class ReplicationReadinessTests: XCTestCase {
    func selection(_ name: String) -> TableSelection {
        TableSelection(table: name)
    }

    func subjects(_ url: String, _ tables: [String]) throws -> [String] {
        try ReplicationReadiness.problems(try PostgresConnection(conninfo: url), tables: tables.map(selection)).map(\.subject)
    }

    func testEachMissingPieceIsNamedWithWhatToRun() throws {
        let server = try PostgresServer.shared()
        let database = try server.emptyDatabase(label: "ready", for: self)
        _ = try server.psql("""
            CREATE TABLE keyed (id int PRIMARY KEY, note text);
            CREATE TABLE keyless (note text);
            CREATE TABLE by_index (code text NOT NULL, note text);
            CREATE UNIQUE INDEX by_index_code ON by_index (code);
            ALTER TABLE by_index REPLICA IDENTITY USING INDEX by_index_code;
            CREATE TABLE nothing (id int PRIMARY KEY);
            ALTER TABLE nothing REPLICA IDENTITY NOTHING;
            """, database: database)
        let url = server.url(database: database)
        XCTAssertEqual(try subjects(url, ["public.keyed", "public.by_index"]), [])
        let problems = try ReplicationReadiness.problems(try PostgresConnection(conninfo: url),
                                                         tables: ["public.keyless", "public.nothing", "public.absent", "public.keyed'; DROP TABLE keyed; --"].map(selection))
        XCTAssertEqual(problems.map(\.subject), ["public.keyless", "public.nothing", "public.absent", "public.keyed'; DROP TABLE keyed; --"])
        XCTAssertTrue(problems[0].message.contains("REPLICA IDENTITY USING INDEX"), problems[0].message)
        XCTAssertTrue(problems[2].message.contains("does not exist"), problems[2].message)
        XCTAssertEqual(try server.psql("SELECT count(*) FROM keyed", database: database).trimmingCharacters(in: .whitespacesAndNewlines), "0", "a name is never SQL")

        // A role without REPLICATION.
        let role = "follower_\(UUID().uuidString.prefix(8).lowercased())"
        _ = try server.psql("CREATE ROLE \(role) LOGIN PASSWORD 'pw'; GRANT CONNECT ON DATABASE \(database) TO \(role)")
        addTeardownBlock { _ = try? server.psql("DROP ROLE IF EXISTS \(role)") }
        let withoutReplication = try ReplicationReadiness.problems(try PostgresConnection(conninfo: server.url(database: database, user: role, password: "pw")), tables: [])
        XCTAssertEqual(withoutReplication.map(\.subject), ["REPLICATION"])
        XCTAssertTrue(withoutReplication[0].message.contains("ALTER ROLE \"\(role)\" REPLICATION"), withoutReplication[0].message)

        // Every slot taken.
        let taken = Int(try server.psql("SELECT current_setting('max_replication_slots')::int - count(*) FROM pg_replication_slots", database: database)
            .trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0
        let names = (0..<taken).map { "ready_slot_\($0)" }
        addTeardownBlock { for name in names { _ = try? server.psql("SELECT pg_drop_replication_slot('\(name)')", database: database) } }
        for name in names { _ = try server.psql("SELECT pg_create_logical_replication_slot('\(name)', 'pgoutput')", database: database) }
        let full = try ReplicationReadiness.problems(try PostgresConnection(conninfo: url), tables: [])
        XCTAssertEqual(full.map(\.subject), ["max_replication_slots"])
        XCTAssertTrue(full[0].message.contains("pg_drop_replication_slot"), full[0].message)
    }

    func testAServerWithoutLogicalWALIsNamed() throws {
        let work = try TemporaryDirectory()
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: work.path)
        let started = try Command.run([Repository.path("scripts/pgcluster.sh"), "start", work.file("pg"), "wal_level=replica"])
        XCTAssertEqual(started.status, 0, started.err)
        defer { _ = try? Command.run([Repository.path("scripts/pgcluster.sh"), "stop", work.file("pg")]) }
        let problems = try ReplicationReadiness.problems(try PostgresConnection(conninfo: started.out.trimmingCharacters(in: .whitespacesAndNewlines)), tables: [])
        XCTAssertEqual(problems.map(\.subject), ["wal_level"])
        XCTAssertTrue(problems[0].message.contains("ALTER SYSTEM SET wal_level = logical") && problems[0].message.contains("rds.logical_replication"), problems[0].message)
    }
}

/// A base bound to the stream (issue 27, "Bases bound to the stream"): an export taken in the
/// snapshot a logical slot exported holds exactly the rows committed before the slot's
/// consistent point, and the slot streams exactly what came after — no gap, no overlap.
final class BaseSnapshotTests: XCTestCase {
    func testAnExportInTheSlotsSnapshotAndTheSlotsChangesMeetWithoutGapOrOverlap() throws {
        let server = try PostgresServer.shared()
        let database = try server.emptyDatabase(label: "base", for: self)
        _ = try server.psql("""
            CREATE TABLE items (id int PRIMARY KEY, note text);
            INSERT INTO items VALUES (1, 'one'), (2, 'two'), (3, 'three');
            CREATE PUBLICATION pgseal_base FOR TABLE items;
            """, database: database)
        let url = server.url(database: database)
        let replication = try PostgresConnection(replicationConninfo: url)
        let slot = try replication.replicationCommand("CREATE_REPLICATION_SLOT pgseal_base_slot TEMPORARY LOGICAL pgoutput (SNAPSHOT 'export')")
        let row = try XCTUnwrap(slot.rows.first)
        let consistent = try XCTUnwrap(row[1].flatMap { LSN($0) })
        let snapshot = try XCTUnwrap(row[2])

        // Committed after the slot's consistent point: the stream's, never the base's.
        _ = try server.psql("INSERT INTO items VALUES (4, 'four'); UPDATE items SET note = 'one, later' WHERE id = 1", database: database)

        let store = try TemporaryDirectory()
        var flags = ExportFlags()
        flags.database = url
        flags.destination = store.path
        flags.tables = ["items"]
        flags.name = "base"
        flags.noEncrypt = true
        flags.noSign = true
        flags.compression = "none"
        var settings = try ExportSettings.resolve(flags: flags, environment: [:])
        settings.baseSnapshot = BaseSnapshot(snapshot: snapshot, walLSN: consistent.description)
        let base = try PGSeal.export(settings)
        let rows = try Command.run(["tar", "-xOf", base.archive, "data/public.items/000001.jsonl"])
        XCTAssertEqual(rows.status, 0, rows.err)
        XCTAssertEqual(rows.out, """
            {"id":1,"note":"one"}
            {"id":2,"note":"two"}
            {"id":3,"note":"three"}

            """)
        let manifest = try Command.run(["tar", "-xOf", base.archive, "manifest.json"])
        let document = try JSONSerialization.jsonObject(with: Data(manifest.out.utf8)) as? [String: Any]
        let source = document?["source"] as? [String: Any]
        XCTAssertEqual(source?["wal_lsn"] as? String, consistent.description, "the base records the slot's position: \(manifest.out.prefix(600))")
        XCTAssertEqual(source?["snapshot"] as? String, snapshot, "and its snapshot")

        // The slot, started at its consistent point, streams the later changes and only them.
        let stream = try replication.startReplication("START_REPLICATION SLOT pgseal_base_slot LOGICAL \(consistent) (proto_version '1', publication_names 'pgseal_base')")
        var assembler = TransactionAssembler()
        var changes: [TransactionAssembler.Change] = []
        let deadline = Date().addingTimeInterval(30)
        while changes.count < 2, Date() < deadline {
            var payload: [UInt8]?
            guard try stream.next(timeout: 1, { bytes in
                if case .walData(_, _, _, let data) = try ReplicationMessage.decode(bytes) { payload = data }
            }) == .message, let payload else { continue }
            if let transaction = try assembler.take(try payload.withUnsafeBytes { raw throws(WireError) in try PgOutputMessage.decode(raw) }) {
                changes += transaction.changes
            }
        }
        func t(_ text: String) -> PgOutputMessage.TupleValue { .text(Array(text.utf8)) }
        XCTAssertEqual(changes, [
            .row(RowChange(operation: .insert, table: "public.items", row: [t("4"), t("four")], oldKey: nil)),
            .row(RowChange(operation: .update, table: "public.items", row: [t("1"), t("one, later")], oldKey: nil)),
        ])
    }
}

/// What the follower and the monitor read of a slot: present, the WAL it holds back, and a
/// dropped slot seen as missing — a break, never a silent gap.
final class SlotHealthTests: XCTestCase {
    func testASlotsRetainedWALIsReadAndADroppedSlotIsMissing() throws {
        let server = try PostgresServer.shared()
        let database = try server.emptyDatabase(label: "slot", for: self)
        let connection = try PostgresConnection(conninfo: server.url(database: database))
        let name = "pgseal_health_\(UUID().uuidString.prefix(8).lowercased())"
        XCTAssertEqual(try SlotHealth.read(connection, slot: name).state, .missing)
        _ = try server.psql("SELECT pg_create_logical_replication_slot('\(name)', 'pgoutput')", database: database)
        addTeardownBlock { _ = try? server.psql("SELECT pg_drop_replication_slot('\(name)')", database: database) }
        _ = try server.psql("CREATE TABLE filler AS SELECT g AS id, repeat('x', 200) AS pad FROM generate_series(1, 20000) g", database: database)
        let health = try SlotHealth.read(connection, slot: name)
        guard case .present(let details) = health.state else { return XCTFail("the slot is missing") }
        XCTAssertEqual(details.plugin, "pgoutput")
        XCTAssertEqual(details.database, database)
        XCTAssertFalse(details.active)
        XCTAssertEqual(details.walStatus, "reserved")
        XCTAssertGreaterThan(details.retainedBytes, 0, "the WAL written since the slot was made is held for it")
        _ = try server.psql("INSERT INTO filler SELECT g, repeat('y', 200) FROM generate_series(20001, 40000) g", database: database)
        guard case .present(let later) = try SlotHealth.read(connection, slot: name).state else { return XCTFail("the slot is missing") }
        XCTAssertGreaterThan(later.retainedBytes, details.retainedBytes, "more writes, more WAL held back")
        XCTAssertNil(details.safeWALBytes, "no max_slot_wal_keep_size on the test server")
        XCTAssertFalse(details.isBroken)
        _ = try server.psql("SELECT pg_drop_replication_slot('\(name)')", database: database)
        XCTAssertEqual(try SlotHealth.read(connection, slot: name).state, .missing)
        XCTAssertEqual(try SlotHealth.read(connection, slot: "x'; DROP TABLE filler; --").state, .missing, "a name is never SQL")
        XCTAssertEqual(try server.psql("SELECT count(*) FROM filler", database: database).trimmingCharacters(in: .whitespacesAndNewlines), "40000")
    }
}
