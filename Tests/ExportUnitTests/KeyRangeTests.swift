import ArchiveFormat
import DatabaseCatalog
@testable import Export
import Foundation
import Postgres
import TestSupport
import XCTest

/// Key ranges for partitioned exports, against the real server: the ranges cover every row
/// exactly once and about evenly, for uuid, integer and text keys (quotes, backslashes,
/// emoji, byte order), and a hostile bound stays a value.
final class KeyRangeTests: XCTestCase {
    private func database() throws -> (PostgresServer, String, PostgresConnection) {
        let server = try PostgresServer.shared()
        let name = try server.emptyDatabase(label: "ranges", for: self)
        try server.psql("""
            CREATE TABLE u (id uuid PRIMARY KEY, n int);
            INSERT INTO u SELECT md5(i::text)::uuid, i FROM generate_series(1, 20000) i;
            CREATE TABLE t (name text PRIMARY KEY);
            INSERT INTO t SELECT 'k' || i FROM generate_series(1, 3000) i;
            INSERT INTO t VALUES ('o''neil'), ('back\\slash'), (E'tab\\tbed'), ('📈'), ('Zed'), ('zed'), ('é');
            CREATE TABLE i (id bigint PRIMARY KEY, active bool);
            INSERT INTO i SELECT g, g % 3 = 0 FROM generate_series(-5000, 5000) g;
            CREATE TABLE nokey (v int);
            ANALYZE;
            """, database: name)
        return (server, name, try PostgresConnection(conninfo: server.url(database: name)))
    }

    private func counts(_ ranges: [PartRange], _ plan: TablePlan, _ connection: PostgresConnection) throws -> [Int] {
        try ranges.map { range in
            let condition = try KeyRanges.predicate(range, of: plan).map { " WHERE \($0)" } ?? ""
            let filter = plan.filter.map { (condition.isEmpty ? " WHERE " : " AND ") + "(\($0))" } ?? ""
            return Int(try connection.execute("SELECT count(*) FROM \(SQL.identifier(plan.name))\(condition)\(filter)").scalar ?? "") ?? -1
        }
    }

    func testRangesCoverEveryRowOnceAndEvenly() throws {
        let (_, _, connection) = try database()
        for (table, filter) in [("u", nil), ("t", nil), ("i", "active")] as [(String, String?)] {
            let total = Int(try connection.execute("SELECT count(*) FROM \(table)" + (filter.map { " WHERE \($0)" } ?? "")).scalar ?? "") ?? -1
            let plan = try TablePlan.resolve(TableSelection(table: "public." + table, columns: nil, filter: filter, key: nil), on: connection)
            let ranges = try KeyRanges.plan(plan, parts: 4, on: connection)
            XCTAssertEqual(ranges.count, 4, "\(table): four ranges")
            XCTAssertNil(ranges.first?.from, table)
            XCTAssertNil(ranges.last?.to, table)
            for (a, b) in zip(ranges, ranges.dropFirst()) { XCTAssertEqual(a.to, b.from, "\(table): ranges meet") }
            // Each bound below the next in the key's order (for integers, not their text's).
            for range in ranges where range.from != nil && range.to != nil {
                XCTAssertEqual(try counts([PartRange(column: range.column, from: range.to, to: range.from)], plan, connection), [0], "\(table): \(range) is in order")
            }
            let sizes = try counts(ranges, plan, connection)
            XCTAssertEqual(sizes.reduce(0, +), total, "\(table): every row in exactly one range: \(sizes)")
            for size in sizes { XCTAssertGreaterThan(size, total / 10, "\(table): about even: \(sizes)") }
        }
    }

    func testOneRangeWithoutAKeyOrASplit() throws {
        let (_, _, connection) = try database()
        let keyless = try TablePlan.resolve(TableSelection(table: "public.nokey", columns: nil, filter: nil, key: []), on: connection)
        XCTAssertEqual(try KeyRanges.plan(keyless, parts: 4, on: connection), [.whole])
        let keyed = try TablePlan.resolve(TableSelection(table: "public.u", columns: nil, filter: nil, key: nil), on: connection)
        XCTAssertEqual(try KeyRanges.plan(keyed, parts: 1, on: connection), [.whole])
        XCTAssertNil(try KeyRanges.predicate(.whole, of: keyed))
        XCTAssertThrowsError(try KeyRanges.predicate(PartRange(column: nil, from: "1", to: nil), of: keyless))
    }

    func testAHostileBoundStaysAValue() throws {
        let (server, name, connection) = try database()
        let hostile = "x'; DROP TABLE t; --", slashed = "x\\'; DROP TABLE t; --"
        let text = try TablePlan.resolve(TableSelection(table: "public.t", columns: nil, filter: nil, key: nil), on: connection)
        for bound in [hostile, slashed] {
            let sizes = try counts([PartRange(column: nil, from: bound, to: nil)], text, connection)
            XCTAssertEqual(sizes.count, 1)
            XCTAssertEqual(try server.psql("SELECT count(*) FROM t", database: name).trimmingCharacters(in: .whitespacesAndNewlines), "3007",
                           "the bound was compared as text, not run")
        }
        let uuid = try TablePlan.resolve(TableSelection(table: "public.u", columns: nil, filter: nil, key: nil), on: connection)
        XCTAssertThrowsError(try counts([PartRange(column: nil, from: hostile, to: nil)], uuid, connection), "not a uuid: the cast fails") { error in
            XCTAssertTrue("\(error)".contains("uuid"), "\(error)")
        }
        XCTAssertThrowsError(try KeyRanges.predicate(PartRange(column: nil, from: "a\u{0}b", to: nil), of: text))
        XCTAssertEqual(try server.psql("SELECT count(*) FROM t", database: name).trimmingCharacters(in: .whitespacesAndNewlines), "3007")
    }
}
