import Foundation
import TestSupport
import XCTest

/// `pgseal lost` (docs/POST-RESTORE.md): a database restored to an earlier point — here a copy
/// made at that point — gets back the changes committed after it, found in the change segments,
/// where its rows are still as the restore left them; rows written since are conflicts for the
/// policy. The oracle is psql's COPY text of the live database, with the same writes made since.
final class LostChangesTests: XCTestCase {
    func testTheChangesARestoreLostAreFoundListedAndPutBackByPolicy() throws {
        let setup = try FollowTests.makeSetup("lost", for: self)
        let server = setup.server
        XCTAssertEqual(try setup.follow().status, 0)
        let base = try setup.newestBase()

        // Before the point the database will be restored to.
        try server.psql("UPDATE items SET note = 'before the point' WHERE id = 3; DELETE FROM tags WHERE item_id = 4", database: setup.database)
        try server.psql("INSERT INTO items VALUES (300, 'big', '\(String(repeating: "big value ", count: 4000))', 1, now())", database: setup.database)
        let pointLSN = try setup.insertLSN()
        let restoredS = try copy(setup, label: "restored_skip")
        let restoredU = try copy(setup, label: "restored_update")
        let restoredF = try copy(setup, label: "restored_fail")

        // After it: what the restore loses (an untouched TOAST value among them).
        try server.psql("INSERT INTO items VALUES (301, 'lost insert', NULL, 2, now())", database: setup.database)
        try server.psql("UPDATE items SET note = 'lost update, big kept' WHERE id = 300", database: setup.database)
        try server.psql("UPDATE items SET note = 'lost note' WHERE id = 5", database: setup.database)
        try server.psql("DELETE FROM items WHERE id = 6; DELETE FROM tags WHERE item_id = 6", database: setup.database)
        try server.psql("UPDATE items SET id = 2007 WHERE id = 7; UPDATE tags SET item_id = 2007 WHERE item_id = 7", database: setup.database)
        XCTAssertEqual(try setup.follow().status, 0)

        // The application wrote to the restored databases before anyone noticed: one row the lost
        // changes touch (a conflict), one they do not.
        let since = "UPDATE items SET note = 'written since the restore' WHERE id = 5; INSERT INTO items VALUES (900, 'new since', NULL, 9, '2026-01-01 00:00:00+00')"
        for restored in [restoredS, restoredU, restoredF] { try server.psql(since, database: restored) }
        let untouched = try setup.contents(of: restoredS)

        // Listed: the point found from the rows, each change with what would be done; nothing written.
        let listed = try lost(base, restoredS, setup, [])
        XCTAssertEqual(listed.status, 0, listed.err)
        let report = try JSONDocument(data: listed.stdout)
        XCTAssertEqual(try report["point"].string(), "found")
        let found = try report["restored_to"].string()
        XCTAssertLessThanOrEqual(lsn(found), lsn(pointLSN), "the point found is at or before the copy's position")
        XCTAssertEqual(try report["lost_transactions"].int(), 5)
        XCTAssertEqual(try report["lost_changes"].int(), 1 + 1 + 1 + 2 + 2)
        XCTAssertEqual(try report["conflicts"].int(), 1)
        XCTAssertEqual(try report["written"].bool(), false)
        let conflict = try report["changes"].array().filter { try $0["action"].string() == "conflict" }
        XCTAssertEqual(try conflict.map { try $0["key"].array().map { try $0.string() } }, [["5"]])
        XCTAssertEqual(try setup.contents(of: restoredS), untouched, "a listing writes nothing")

        // The point given, as an LSN between commits, is the same commit.
        let given = try lost(base, restoredS, setup, ["--restored-to", pointLSN])
        XCTAssertEqual(given.status, 0, given.err)
        XCTAssertEqual(try JSONDocument(data: given.stdout)["restored_to"].string(), found)

        // fail: the conflict named, nothing written.
        let failed = try lost(base, restoredF, setup, ["--put-back", "--on-conflict", "fail"])
        XCTAssertEqual(failed.status, 2, failed.err)
        XCTAssertTrue(failed.err.contains("public.items key 5") && failed.err.contains("nothing was written"), failed.err)
        XCTAssertEqual(try setup.contents(of: restoredF), untouched)

        // skip: every lost change back, the row written since left as it is.
        let skipped = try lost(base, restoredS, setup, ["--put-back", "--on-conflict", "skip"])
        XCTAssertEqual(skipped.status, 0, skipped.err)
        XCTAssertEqual(try JSONDocument(data: skipped.stdout)["put_back"].int(), 6)
        XCTAssertEqual(try setup.contents(of: restoredS), try expected(setup, since: since, label: "expected_skip"))

        // update: the row written since gets the lost change's result.
        let updated = try lost(base, restoredU, setup, ["--put-back", "--on-conflict", "update"])
        XCTAssertEqual(updated.status, 0, updated.err)
        XCTAssertEqual(try JSONDocument(data: updated.stdout)["overwritten"].int(), 1)
        XCTAssertEqual(try setup.contents(of: restoredU),
                       try expected(setup, since: "INSERT INTO items VALUES (900, 'new since', NULL, 9, '2026-01-01 00:00:00+00')", label: "expected_update"))
        XCTAssertTrue(try setup.contents(of: restoredU).contains("big value big value"), "the TOASTed value the lost update left alone is kept")

        // Run again: everything is already there, nothing is lost twice.
        let again = try lost(base, restoredU, setup, ["--put-back", "--on-conflict", "fail"])
        XCTAssertEqual(again.status, 0, again.err)
        let againReport = try JSONDocument(data: again.stdout)
        XCTAssertEqual(try againReport["put_back"].int(), 0)
    }

    private func lost(_ base: String, _ database: String, _ setup: FollowTests.Setup, _ extra: [String]) throws -> CommandResult {
        try PGSealCLI.run(["lost", base, "--db", setup.server.url(database: database), "--scratch-db", setup.server.url(database: "postgres"),
                           "-i", setup.keys + "/age-identity.txt", "--trusted-key", setup.keys + "/allowed_signers", "--json"] + extra)
    }

    /// A copy of the followed database as it is now: the database "restored" to this point.
    private func copy(_ setup: FollowTests.Setup, label: String) throws -> String {
        let name = "\(setup.database)_\(label)"
        try setup.server.psql("CREATE DATABASE \(name) TEMPLATE \(setup.database)")
        addTeardownBlock { _ = try? setup.server.psql("DROP DATABASE IF EXISTS \(name) WITH (FORCE)") }
        return name
    }

    /// The oracle: the live database, with the writes made since the restore made again.
    private func expected(_ setup: FollowTests.Setup, since: String, label: String) throws -> String {
        let name = try copy(setup, label: label)
        try setup.server.psql(since, database: name)
        return try setup.contents(of: name)
    }

    private func lsn(_ text: String) -> UInt64 {
        let halves = text.split(separator: "/")
        guard halves.count == 2, let high = UInt64(halves[0], radix: 16), let low = UInt64(halves[1], radix: 16) else { return 0 }
        return high << 32 | low
    }
}
