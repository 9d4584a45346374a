import Foundation
import TestSupport
import XCTest

/// Exporting one's own tables without writing YAML first, and an export that always says what
/// it exports.
final class OnboardingTests: XCTestCase {
    var store: TemporaryDirectory!

    override func setUpWithError() throws {
        store = try TemporaryDirectory()
    }

    func export(_ arguments: [String]) throws -> CommandResult {
        try PGSealCLI.run(["export", "--db", try ExportFixture.url(), "--to", store.path, "--no-encrypt", "--no-sign"] + arguments)
    }

    func testWithoutAProfileOrTablesTheExportNamesTheChoices() throws {
        let result = try export([])
        XCTAssertEqual(result.status, 2, result.err)
        XCTAssertTrue(result.err.contains("no profile") && result.err.contains("kessan-user-data") && result.err.contains("--table"), result.err)
        ExportFixture.assertNothingLeft(in: store.path)
    }

    func testTablesNamedOnTheCommandLineWithTheirSecretsLeftOut() throws {
        let result = try export(["--table", "users", "--table", "public.user_watchlist", "--name", "ad-hoc",
                                 "--exclude-column", "users.password_hash", "--exclude-column", "public.users.mfa_secret"])
        XCTAssertEqual(result.status, 0, result.err)
        let archive = result.out.trimmingCharacters(in: .newlines)
        XCTAssertTrue(archive.hasPrefix(store.path + "/ad-hoc/"), archive)
        let extracted = try ExtractedArchive(archive: archive)
        // Every row, every column but the two secrets, as PostgreSQL's to_jsonb sees them.
        try Oracle.compareToJsonb(extracted, database: try ExportFixture.url(), tables: [
            ExportedTable("public.users", columns: ["id", "email", "email_verified", "created_at", "updated_at", "is_active"]),
            ExportedTable("public.user_watchlist"),
        ])
    }

    func testMistakesInTheTablesAreNamed() throws {
        for (arguments, expected) in [(["--table", "users", "--exclude-column", "users.no_such_column"], "no_such_column"),
                                      (["--table", "users", "--exclude-column", "orders.secret"], "not among the --table tables"),
                                      (["--table", "users", "--profile", "kessan-user-data"], "alternatives"),
                                      (["--profile", "kessan-user-data", "--name", "x"], "go with --table"),
                                      (["--profile", "nope"], "known profiles: kessan-user-data")] {
            let result = try export(arguments)
            XCTAssertEqual(result.status, 2, "\(arguments): \(result.err)")
            XCTAssertTrue(result.err.contains(expected), "\(arguments): expected «\(expected)» in \(result.err)")
        }
        ExportFixture.assertNothingLeft(in: store.path)
    }

    /// `config init` writes a profile from the catalog that exports every table, secrets left
    /// out and named, and never replaces a file.
    func testConfigInitWritesAProfileThatExportsEveryTableWithoutItsSecrets() throws {
        let files = try TemporaryDirectory()
        let config = files.file("pgseal.yaml")
        let written = try PGSealCLI.run(["config", "init", "--db", try ExportFixture.url(), "--out", config, "--profile", "mine"])
        XCTAssertEqual(written.status, 0, written.err)
        XCTAssertTrue(written.err.contains("users.password_hash, users.mfa_secret"), written.err)
        let again = try PGSealCLI.run(["config", "init", "--db", try ExportFixture.url(), "--out", config])
        XCTAssertEqual(again.status, 2, again.err)
        XCTAssertTrue(again.err.contains("never replaces"), again.err)
        let exported = try PGSealCLI.run(["export", "--config", config, "--db", try ExportFixture.url(), "--to", store.path, "--no-encrypt", "--no-sign"])
        XCTAssertEqual(exported.status, 0, exported.err)
        XCTAssertTrue(exported.out.hasPrefix(store.path + "/mine/"), exported.out)
        try Oracle.compareToJsonb(try ExtractedArchive(archive: exported.out.trimmingCharacters(in: .newlines)), database: try ExportFixture.url(),
                                  tables: [ExportedTable("public.users", columns: ["id", "email", "email_verified", "created_at", "updated_at", "is_active"])]
                                    + ["public.user_profiles", "public.user_watchlist", "public.user_subscriptions", "public.edge_values", "public.empty_table"]
                                    .map { ExportedTable($0) })
    }
}
