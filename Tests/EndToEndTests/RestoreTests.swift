import Foundation
import TestSupport
import XCTest

/// `pgseal restore` into real databases: all tables in one transaction, checked against the
/// manifest before the commit.
final class RestoreTests: XCTestCase {
    var keys: TemporaryDirectory!
    var store: TemporaryDirectory!
    var archive: String!
    var server: PostgresServer!

    override func setUpWithError() throws {
        server = try PostgresServer.shared()
        keys = try TemporaryDirectory()
        store = try TemporaryDirectory()
        XCTAssertEqual(try PGSealCLI.run(["keygen", "--out", keys.path]).status, 0)
        let exported = try PGSealCLI.run(["export", "--db", try ExportFixture.url(), "--to", store.path, "--jobs", "3",
                                          "--config", try ExportFixture.everythingConfig(in: store), "--profile", "everything",
                                          "--recipients-file", keys.file("age-recipient.txt"), "--sign-key", keys.file("signing-key")])
        XCTAssertEqual(exported.status, 0, exported.err)
        archive = exported.out.trimmingCharacters(in: .newlines)
    }

    func emptyDatabase() throws -> String {
        try server.emptyDatabase(label: "restore", for: self)
    }

    func restore(_ database: String, _ extra: [String] = [], archive path: String? = nil) throws -> CommandResult {
        try PGSealCLI.run(["restore", path ?? archive, "--db", server.url(database: database), "-i", keys.file("age-identity.txt"), "--trusted-key", keys.file("allowed_signers")] + extra)
    }

    func testRestoresEveryTableAndTheDiffFindsNothingMissing() throws {
        let target = try emptyDatabase()
        let refused = try restore(target)
        XCTAssertEqual(refused.status, 2)
        XCTAssertTrue(refused.err.contains("does not exist in the target database") && refused.err.contains("--create-tables"), refused.err)

        let restored = try restore(target, ["--create-tables", "--report", store.file("restore.json")])
        XCTAssertEqual(restored.status, 0, restored.err)
        XCTAssertTrue(restored.err.contains("restored public.edge_values: 7 rows"), restored.err)
        // PostgreSQL compares the restored rows with the source's: no pgseal code in the oracle.
        XCTAssertEqual(try server.rowsDiffering(restored: target, source: try ExportFixture.database(), tables: ExportFixture.everything), [])
        let diff = try PGSealCLI.run(["diff", archive, "--db", server.url(database: target), "-i", keys.file("age-identity.txt"), "--trusted-key", keys.file("allowed_signers")])
        XCTAssertEqual(diff.status, 0, diff.out + diff.err)
        XCTAssertTrue(diff.out.contains("no difference"), diff.out)
        // Keys came along: a duplicate is refused by the restored table.
        XCTAssertThrowsError(try server.psql("INSERT INTO user_watchlist SELECT * FROM user_watchlist LIMIT 1", database: target))

        let again = try restore(target, ["--tables", "users"])
        XCTAssertEqual(again.status, 2)
        XCTAssertTrue(again.err.contains("is not empty") && again.err.contains("--truncate"), again.err)
        try server.psql("UPDATE users SET email = 'x' WHERE email LIKE 'user1@%'", database: target)
        let replaced = try restore(target, ["--tables", "users", "--truncate"])
        XCTAssertEqual(replaced.status, 0, replaced.err)
        XCTAssertEqual(try server.psql("SELECT count(*) FROM users WHERE email = 'x'", database: target).trimmingCharacters(in: .whitespacesAndNewlines), "0")
        let unknown = try restore(target, ["--tables", "nope"])
        XCTAssertEqual(unknown.status, 2)
        XCTAssertTrue(unknown.err.contains("has no table public.nope"), unknown.err)
    }

    /// `--insecure-unsigned` reads an archive without a seal; a seal that is there and does not
    /// verify against the trusted keys is refused all the same — by restore, diff and inspect —
    /// and nothing is loaded (SECURITY.md, "--insecure-unsigned").
    func testInsecureUnsignedNeverAcceptsASealThatIsThereAndDoesNotVerify() throws {
        var seal = try String(contentsOfFile: archive + ".seal", encoding: .utf8)
        if let last = seal.lastIndex(of: "}") { seal.insert(" ", at: last) }
        try seal.write(toFile: archive + ".seal", atomically: true, encoding: .utf8)
        let target = try emptyDatabase()
        let restored = try restore(target, ["--create-tables", "--insecure-unsigned"])
        XCTAssertEqual(restored.status, 1, restored.err)
        XCTAssertTrue(restored.err.contains("seal"), restored.err)
        XCTAssertEqual(try server.psql("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'", database: target)
            .trimmingCharacters(in: .whitespacesAndNewlines), "0", "nothing was loaded")
        let trusted = ["-i", keys.file("age-identity.txt"), "--trusted-key", keys.file("allowed_signers"), "--insecure-unsigned"]
        let diffed = try PGSealCLI.run(["diff", archive, "--db", server.url(database: target)] + trusted)
        XCTAssertEqual(diffed.status, 1, diffed.err)
        let inspected = try PGSealCLI.run(["inspect", archive] + trusted)
        XCTAssertEqual(inspected.status, 1, inspected.err)
    }

    /// An unsigned copy of the archive whose chunks were edited by `edit` (bash, in the
    /// unpacked tree), re-encrypted to the same recipient: readable only with --insecure-unsigned.
    func damagedCopy(_ edit: String) throws -> String {
        let work = store.file("work-\(UUID().uuidString)")
        let damaged = store.file("damaged-\(UUID().uuidString).tar.zst.age")
        let script = """
            set -euo pipefail
            mkdir -p "$1" && cd "$1"
            age -d -i "$3/age-identity.txt" "$2" | zstd -d | tar -x
            \(edit)
            tar --format=pax -c tables.json $(find data -type f | sort) manifest.json | zstd -q | age -R "$3/age-recipient.txt" > "$4"
            """
        let rebuilt = try Command.run(["bash", "-c", script, "rebuild", work, archive, keys.path, damaged])
        XCTAssertEqual(rebuilt.status, 0, rebuilt.err)
        return damaged
    }

    /// A target whose tables exist and are empty (created by a restore, then emptied).
    func preparedTarget() throws -> String {
        let target = try emptyDatabase()
        XCTAssertEqual(try restore(target, ["--create-tables"]).status, 0)
        try server.psql("TRUNCATE users, user_profiles, user_watchlist, user_subscriptions, edge_values, empty_table", database: target)
        return target
    }

    func rowCounts(_ database: String) throws -> String {
        try server.psql("""
            SELECT (SELECT count(*) FROM users) + (SELECT count(*) FROM user_profiles) + (SELECT count(*) FROM user_watchlist)
                 + (SELECT count(*) FROM user_subscriptions) + (SELECT count(*) FROM edge_values)
            """, database: database).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// The damage is in the last table loaded: the tables loaded before it are rolled back too.
    func testDamageInTheLastTableRollsBackTheTablesLoadedBeforeIt() throws {
        let damaged = try damagedCopy(#"sed -i '0,/"label":"/s//"label":"X/' data/public.edge_values/000001.jsonl"#)
        let target = try preparedTarget()
        let result = try restore(target, ["--insecure-unsigned"], archive: damaged)
        XCTAssertEqual(result.status, 1, result.err)
        XCTAssertTrue(result.err.contains("restored public.user_subscriptions:"), "earlier tables should have been loaded first: \(result.err)")
        XCTAssertTrue(result.err.contains("restoring public.edge_values") && result.err.contains("nothing was committed"), result.err)
        XCTAssertEqual(try rowCounts(target), "0", "rows of the tables loaded before the damage were committed")
    }

    /// The target's own deferred rule refuses the rows at COMMIT: nothing is committed, and the
    /// message says it was the target, not the archive (exit 2).
    func testARefusalAtCommitRollsBackEverything() throws {
        let target = try preparedTarget()
        try server.psql("ALTER TABLE user_profiles ADD CONSTRAINT one_per_timezone UNIQUE (timezone) DEFERRABLE INITIALLY DEFERRED", database: target)
        let result = try restore(target)
        XCTAssertEqual(result.status, 2, result.err)
        XCTAssertTrue(result.err.contains("refused the restore at COMMIT") && result.err.contains("one_per_timezone")
                      && result.err.contains("nothing was committed"), result.err)
        XCTAssertEqual(try rowCounts(target), "0")
    }

    func testADamagedArchiveCommitsNothing() throws {
        // A row changed behind the manifest's back (in a re-encrypted copy): the digest check at
        // the end of the table fails and the transaction rolls back.
        let damaged = try damagedCopy(#"sed -i '3s/"email":"[^"]*"/"email":"tampered@example.com"/' data/public.users/000001.jsonl"#)
        let target = try emptyDatabase()
        // Without a seal the rebuilt copy is not an archive: refused before anything is read.
        let refused = try restore(target, ["--create-tables"], archive: damaged)
        XCTAssertEqual(refused.status, 1, refused.err)
        XCTAssertTrue(refused.err.contains("seal: ") && refused.err.contains("is missing"), refused.err)
        // Read anyway, the digest check still holds and the transaction still rolls back.
        let result = try restore(target, ["--create-tables", "--insecure-unsigned"], archive: damaged)
        XCTAssertEqual(result.status, 1, result.err)
        XCTAssertTrue(result.err.contains("restoring public.users") && result.err.contains("nothing was committed"), result.err)
        XCTAssertEqual(try server.psql("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'", database: target).trimmingCharacters(in: .whitespacesAndNewlines), "0")
    }
}
