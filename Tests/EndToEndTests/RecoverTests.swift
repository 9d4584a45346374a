import Foundation
import TestSupport
import XCTest

/// `pgseal recover`: selected rows put back into a live database, exactly and only them,
/// checked in SQL — by each conflict policy, under a concurrent writer, and refused by a
/// foreign key with the row named.
final class RecoverTests: XCTestCase {
    var server: PostgresServer!
    var database: String!
    var keys: TemporaryDirectory!
    var archive: String!

    override func setUpWithError() throws {
        server = try PostgresServer.shared()
        database = try server.fixtureDatabase(users: 200, label: "recover", for: self)
        keys = try TemporaryDirectory()
        XCTAssertEqual(try PGSealCLI.run(["keygen", "--out", keys.path]).status, 0)
        let exported = try PGSealCLI.run(["export", "--profile", "kessan-user-data", "--db", server.url(database: database), "--to", keys.file("store"),
                                          "-R", keys.file("age-recipient.txt"), "--sign-key", keys.file("signing-key")])
        XCTAssertEqual(exported.status, 0, exported.err)
        archive = exported.out.trimmingCharacters(in: .newlines)
    }

    func sql(_ text: String) throws -> String {
        try server.psql(text, database: database).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    func recover(_ arguments: [String], archive path: String? = nil, environment: [String: String] = [:]) throws -> CommandResult {
        try PGSealCLI.run(["recover", path ?? archive, "--db", server.url(database: database), "--trusted-key", keys.file("allowed_signers"),
                           "-i", keys.file("age-identity.txt")] + arguments, environment: environment)
    }

    /// Two users with at least three watchlist rows each.
    func usersWithWatchlists() throws -> (String, String) {
        let ids = try sql("SELECT w.user_id FROM user_watchlist w JOIN users u ON u.id = w.user_id WHERE u.is_active GROUP BY 1 HAVING count(*) >= 3 ORDER BY 1 LIMIT 2")
            .split(separator: "\n").map(String.init)
        guard ids.count == 2 else { throw TestSetupError("the fixture has too few watchlists: \(ids)") }
        return (ids[0], ids[1])
    }

    /// Rows of user_watchlist that differ from the copy taken before the damage, both ways.
    func differences() throws -> String {
        try sql("""
            SELECT (SELECT count(*) FROM (SELECT * FROM user_watchlist EXCEPT ALL SELECT * FROM before) a) || ' ' ||
                   (SELECT count(*) FROM (SELECT * FROM before EXCEPT ALL SELECT * FROM user_watchlist) b)
            """)
    }

    func testEachConflictPolicyPutsBackExactlyTheSelectedRows() throws {
        let (user, other) = try usersWithWatchlists()
        let tickers = try sql("SELECT ticker FROM user_watchlist WHERE user_id = '\(user)' ORDER BY ticker LIMIT 3").split(separator: "\n").map(String.init)
        try sql("CREATE TABLE before AS SELECT * FROM user_watchlist")
        try sql("""
            DELETE FROM user_watchlist WHERE user_id = '\(user)' AND ticker IN ('\(tickers[0])', '\(tickers[1])');
            UPDATE user_watchlist SET notes = 'mangled' WHERE user_id = '\(user)' AND ticker = '\(tickers[2])';
            UPDATE user_watchlist SET notes = 'changed since' WHERE user_id = '\(other)' AND ticker = (SELECT min(ticker) FROM user_watchlist WHERE user_id = '\(other)');
            """)
        XCTAssertEqual(try differences(), "2 4")
        let select = ["--table", "user_watchlist", "--where", "user_id=\(user)"]

        let dry = try recover(select + ["--on-conflict", "update", "--dry-run"])
        XCTAssertEqual(dry.status, 0, dry.err)
        XCTAssertEqual(dry.out.split(separator: "\n").filter { $0.hasPrefix("insert ") }.count, 2, dry.out)
        XCTAssertEqual(dry.out.split(separator: "\n").filter { $0.hasPrefix("update ") }.count, 1, dry.out)
        XCTAssertTrue(dry.out.contains("[\"\(user)\",\"\(tickers[2])\"]"), "keys as diff prints them: \(dry.out)")
        XCTAssertTrue(dry.out.contains("dry run: nothing written"), dry.out)
        XCTAssertEqual(try differences(), "2 4", "a dry run wrote")

        let skipped = try recover(select + ["--on-conflict", "skip"])
        XCTAssertEqual(skipped.status, 0, skipped.err)
        XCTAssertTrue(skipped.out.contains("2 inserted, 0 updated") && skipped.out.contains("1 left alone"), skipped.out)
        XCTAssertEqual(try sql("SELECT notes FROM user_watchlist WHERE user_id = '\(user)' AND ticker = '\(tickers[2])'"), "mangled")
        XCTAssertEqual(try differences(), "2 2")

        let refused = try recover(select + ["--on-conflict", "fail"])
        XCTAssertEqual(refused.status, 2, refused.err)
        XCTAssertTrue(refused.err.contains("[\"\(user)\",\"\(tickers[2])\"]") && refused.err.contains("nothing was written"), refused.err)
        XCTAssertEqual(try differences(), "2 2")

        let updated = try recover(select + ["--on-conflict", "update", "--json"])
        XCTAssertEqual(updated.status, 0, updated.err)
        let report = try JSONDocument(data: updated.stdout)
        XCTAssertEqual(try report["updated"].int(), 1)
        XCTAssertEqual(try report["inserted"].int(), 0)
        // Only the other user's change remains: the selected rows are the archive's, others untouched.
        XCTAssertEqual(try differences(), "1 1")
        XCTAssertEqual(try sql("SELECT count(*) FROM user_watchlist WHERE notes = 'changed since' AND user_id = '\(other)'"), "1")
    }

    func testAForeignKeyRefusalNamesTheRowAndTheKeyBringsTheParentBackFromS3() throws {
        let (user, _) = try usersWithWatchlists()
        // The same database exported to S3 too, before the damage.
        let s3 = try S3Server.shared()
        let bucket = try s3.makeBucket()
        let uploaded = try PGSealCLI.run(["export", "--profile", "kessan-user-data", "--db", server.url(database: database), "--to", "s3://\(bucket)/p/",
                                          "-R", keys.file("age-recipient.txt"), "--sign-key", keys.file("signing-key")], environment: s3.environment())
        XCTAssertEqual(uploaded.status, 0, uploaded.err)
        let s3Archive = uploaded.out.trimmingCharacters(in: .newlines)
        try sql("""
            DELETE FROM user_watchlist WHERE user_id = '\(user)'; DELETE FROM user_profiles WHERE user_id = '\(user)';
            DELETE FROM user_subscriptions WHERE user_id = '\(user)'; DELETE FROM users WHERE id = '\(user)';
            """)
        let orphans = try recover(["--table", "user_watchlist", "--where", "user_id=\(user)", "--on-conflict", "fail"])
        XCTAssertEqual(orphans.status, 2, orphans.err)
        XCTAssertTrue(orphans.err.contains("foreign key") && orphans.err.contains(user) && orphans.err.contains("nothing was written"), orphans.err)
        XCTAssertEqual(try sql("SELECT count(*) FROM user_watchlist WHERE user_id = '\(user)'"), "0")

        // The parent first, by its key (a bare value), from the copy of the archive in S3.
        // The archive holds no password hashes (the profile leaves secrets out): the live table
        // refuses a user without one, and says so.
        let noHash = try recover(["--table", "users", "--key", user, "--on-conflict", "fail"], archive: s3Archive, environment: s3.environment())
        XCTAssertEqual(noHash.status, 2, noHash.err)
        XCTAssertTrue(noHash.err.contains("password_hash") && noHash.err.contains("nothing was written"), noHash.err)
        // With a default that forces a password reset, the user comes back.
        try sql("ALTER TABLE users ALTER COLUMN password_hash SET DEFAULT '!reset'")
        let parent = try recover(["--table", "users", "--key", user, "--on-conflict", "fail"], archive: s3Archive, environment: s3.environment())
        XCTAssertEqual(parent.status, 0, parent.err)
        XCTAssertTrue(parent.out.contains("1 inserted"), parent.out)
        let children = try recover(["--table", "user_watchlist", "--where", "user_id=\(user)", "--on-conflict", "fail"])
        XCTAssertEqual(children.status, 0, children.err)
        XCTAssertGreaterThanOrEqual(Int(try sql("SELECT count(*) FROM user_watchlist WHERE user_id = '\(user)'")) ?? 0, 3)
        let missing = try recover(["--table", "users", "--key", "00000000-0000-4000-8000-00000000dead", "--on-conflict", "fail"])
        XCTAssertEqual(missing.status, 2, missing.err)
        XCTAssertTrue(missing.err.contains("no row"), missing.err)
    }

    /// A writer keeps changing another user's rows of the same table while the recovery runs:
    /// it waits for the write, is not undone, and the recovered rows are the archive's.
    func testAConcurrentWriterIsNeitherUndoneNorBreaksTheRecovery() throws {
        let (user, other) = try usersWithWatchlists()
        try sql("CREATE TABLE before AS SELECT * FROM user_watchlist")
        try sql("DELETE FROM user_watchlist WHERE user_id = '\(user)'; UPDATE user_watchlist SET notes = '' WHERE user_id = '\(other)'")
        let writer = try Command.start(["bash", "-c", """
            for i in $(seq 1 150); do psql "$0" -X -q -c "UPDATE user_watchlist SET notes = notes || 'x' WHERE user_id = '$1'" || exit 1; done
            """, server.url(database: database), other])
        XCTAssertTrue(try waitUntil(timeout: 30) { try sql("SELECT max(length(notes)) FROM user_watchlist WHERE user_id = '\(other)'") != "0" })
        let recovered = try recover(["--table", "user_watchlist", "--where", "user_id=\(user)", "--on-conflict", "update"])
        let written = writer.wait()
        XCTAssertEqual(recovered.status, 0, recovered.err)
        XCTAssertEqual(written.status, 0, "the writer failed: \(written.err)")
        XCTAssertEqual(try sql("SELECT count(*) FROM (SELECT * FROM before WHERE user_id = '\(user)' EXCEPT ALL SELECT * FROM user_watchlist WHERE user_id = '\(user)') d"), "0")
        XCTAssertEqual(try sql("SELECT min(length(notes)) FROM user_watchlist WHERE user_id = '\(other)'"), "150", "the writer's updates were lost")
    }
}
