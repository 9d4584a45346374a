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
    /// A database with `padding` and the two transfer tables, and `move_accounts(n)`, which
    /// moves the highest account from source to destination and shifts 7 between the lowest
    /// accounts of the two tables, committing each step. The profile file exports all three.
    func transferDatabase() throws -> (database: String, config: TemporaryDirectory) {
        let server = try PostgresServer.shared()
        let database = try server.emptyDatabase(label: "consistency", for: self)
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
        try ExportedTable.config(profile: "transfers", tables: [ExportedTable("public.padding"), ExportedTable("public.transfer_src"),
                                                                ExportedTable("public.transfer_dst")], at: config.file("p.yaml"))
        return (database, config)
    }

    /// Starts the writer and waits until it has moved accounts.
    func startWriter(_ database: String) throws -> RunningCommand {
        let server = try PostgresServer.shared()
        let writer = try Command.start(["psql", server.url(database: database), "-X", "-q", "-c", "CALL move_accounts(60000)"])
        let moving = try waitUntil(timeout: 30) { try movedAccounts(database) > 0 }
        XCTAssertTrue(moving, "the writer is not moving rows")
        return writer
    }

    func movedAccounts(_ database: String) throws -> Int {
        Int(try PostgresServer.shared().psql("SELECT count(*) FROM transfer_dst", database: database)
            .trimmingCharacters(in: .whitespacesAndNewlines)) ?? -1
    }

    func testConcurrentMovesBetweenTablesStillGiveOnePointInTime() throws {
        let server = try PostgresServer.shared()
        let (database, config) = try transferDatabase()
        let writer = try startWriter(database)
        defer { writer.signal(SIGTERM); _ = writer.wait() }
        let moved = try movedAccounts(database)

        let store = try TemporaryDirectory()
        let result = try PGSealCLI.run(["export", "--db", server.url(database: database), "--to", store.path, "--no-encrypt", "--no-sign",
                                        "--config", config.file("p.yaml"), "--profile", "transfers", "--jobs", "2"])
        XCTAssertEqual(result.status, 0, result.err)
        XCTAssertGreaterThan(try movedAccounts(database), moved, "the writer stopped before the export ran")

        let extracted = try ExtractedArchive(archive: result.out.trimmingCharacters(in: .newlines))
        var ids = Set<Int>()
        var inBoth: [Int] = []
        var total = 0
        var rows = 0
        for table in ["public.transfer_src", "public.transfer_dst"] {
            for line in try extracted.lines(of: table) {
                let row = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
                guard let id = row?["id"] as? Int, let amount = row?["amount"] as? Int else {
                    XCTFail("\(table): not a row of two integers: \(line)")
                    continue
                }
                if !ids.insert(id).inserted { inBoth.append(id) }
                total += amount
                rows += 1
            }
        }
        XCTAssertEqual(inBoth, [], "accounts in both tables: they were read at different times")
        XCTAssertEqual(rows, Self.accounts, "accounts missing or doubled: the tables were read at different times")
        XCTAssertEqual(total, Self.totalAmount, "amounts do not add up: the tables were read at different times")
    }

    /// A diff reads the database in one snapshot too: while accounts move from one table to
    /// the other, every account the diff misses in the source table it finds in the
    /// destination table, no more and no fewer.
    func testADiffUnderAConcurrentWriterSeesOnePointInTime() throws {
        let server = try PostgresServer.shared()
        let (database, config) = try transferDatabase()
        let store = try TemporaryDirectory()
        let exported = try PGSealCLI.run(["export", "--db", server.url(database: database), "--to", store.path, "--no-encrypt", "--no-sign",
                                          "--config", config.file("p.yaml"), "--profile", "transfers"])
        XCTAssertEqual(exported.status, 0, exported.err)
        let writer = try startWriter(database)
        defer { writer.signal(SIGTERM); _ = writer.wait() }
        let before = try movedAccounts(database)
        let report = store.file("diff.json")
        let diff = try PGSealCLI.run(["diff", exported.out.trimmingCharacters(in: .newlines), "--db", server.url(database: database),
                                      "--insecure-unsigned", "--report", report, "--max-connections", "2"])
        XCTAssertEqual(diff.status, 1, diff.out + diff.err)
        XCTAssertGreaterThan(try movedAccounts(database), before, "the writer stopped before the diff ran")
        let json = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: report))) as? [String: Any]
        let tables = (json?["tables"] as? [[String: Any]] ?? []).reduce(into: [String: [String: Any]]()) { $0[$1["name"] as? String ?? ""] = $1 }
        func count(_ table: String, _ field: String) -> Int { tables[table]?[field] as? Int ?? -1 }
        let missing = count("public.transfer_src", "only_in_archive")
        XCTAssertGreaterThan(missing, 0, diff.out)
        XCTAssertEqual(count("public.transfer_dst", "only_in_database"), missing, "moved accounts seen on one side only: two snapshots. \(diff.out)")
        XCTAssertEqual(count("public.transfer_src", "only_in_database"), 0, diff.out)
        XCTAssertEqual(count("public.transfer_dst", "only_in_archive"), 0, diff.out)
        XCTAssertEqual(count("public.padding", "equal"), 150_000, diff.out)
    }
}
