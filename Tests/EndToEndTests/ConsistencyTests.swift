import Foundation
import TestSupport
import XCTest

/// All tables of an archive are one point in time, also with parallel workers.
final class ConsistencyTests: XCTestCase {
    static let accounts = 100_000
    static let totalAmount = accounts * 100

    /// While the export runs, a writer moves rows from `transfer_src` to `transfer_dst` and
    /// shifts amounts between the two tables, committing each move. In every committed state the
    /// two tables hold each account exactly once and the amounts add up to the same total; an
    /// archive that read the tables at different moments breaks that.
    func testConcurrentMovesBetweenTablesStillGiveOnePointInTime() throws {
        let server = try PostgresServer.shared()
        let database = "consistency_\(UUID().uuidString.prefix(8).lowercased())"
        try server.psql("CREATE DATABASE \(database)")
        try server.psql("""
            CREATE TABLE padding (id integer PRIMARY KEY, payload text);
            INSERT INTO padding SELECT i, repeat(md5(i::text), 8) FROM generate_series(1, 150000) AS i;
            CREATE TABLE transfer_src (id integer PRIMARY KEY, amount integer NOT NULL);
            CREATE TABLE transfer_dst (id integer PRIMARY KEY, amount integer NOT NULL);
            INSERT INTO transfer_src SELECT i, 100 FROM generate_series(1, \(Self.accounts)) AS i;
            CREATE PROCEDURE move_accounts(n integer) LANGUAGE plpgsql AS $$
            BEGIN
              FOR step IN 1..n LOOP
                WITH moved AS (
                  DELETE FROM transfer_src WHERE id = (SELECT max(id) FROM transfer_src) RETURNING id, amount)
                INSERT INTO transfer_dst SELECT id, amount FROM moved;
                UPDATE transfer_src SET amount = amount - 7 WHERE id = (SELECT min(id) FROM transfer_src);
                UPDATE transfer_dst SET amount = amount + 7 WHERE id = (SELECT min(id) FROM transfer_dst);
                COMMIT;
              END LOOP;
            END $$;
            """, database: database)
        let config = try TemporaryDirectory()
        try """
            profiles:
              - name: transfers
                tables:
                  - table: padding
                  - table: transfer_src
                  - table: transfer_dst
            """.write(toFile: config.file("p.yaml"), atomically: true, encoding: .utf8)

        let writer = try Command.start(["psql", server.url(database: database), "-X", "-q", "-c", "CALL move_accounts(60000)"])
        defer { writer.signal(SIGTERM); _ = writer.wait() }
        // Let the writer get going, so that the export starts in the middle of it.
        Thread.sleep(forTimeInterval: 0.5)
        let moved = try server.psql("SELECT count(*) FROM transfer_dst", database: database)
        XCTAssertGreaterThan(Int(moved.trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0, 0, "the writer is not moving rows")

        let store = try TemporaryDirectory()
        let result = try PGSealCLI.run(["export", "--db", server.url(database: database), "--to", store.path, "--no-encrypt", "--no-sign",
                                        "--config", config.file("p.yaml"), "--profile", "transfers", "--jobs", "2"])
        XCTAssertEqual(result.status, 0, result.err)
        let movedAfter = try server.psql("SELECT count(*) FROM transfer_dst", database: database)
        XCTAssertGreaterThan(Int(movedAfter.trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0,
                             Int(moved.trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0, "the writer stopped before the export ran")

        let extracted = try ExtractedArchive(archive: result.out.trimmingCharacters(in: .newlines))
        var ids = Set<Int>()
        var inBoth: [Int] = []
        var total = 0
        var rows = 0
        for table in ["public.transfer_src", "public.transfer_dst"] {
            for line in try extracted.lines(of: table) {
                let row = try JSONSerialization.jsonObject(with: Data(line.utf8)) as! [String: Any]
                let id = row["id"] as! Int
                if !ids.insert(id).inserted { inBoth.append(id) }
                total += row["amount"] as! Int
                rows += 1
            }
        }
        XCTAssertEqual(inBoth, [], "accounts in both tables: they were read at different times")
        XCTAssertEqual(rows, Self.accounts, "accounts missing or doubled: the tables were read at different times")
        XCTAssertEqual(total, Self.totalAmount, "amounts do not add up: the tables were read at different times")
    }
}
