import ArchiveFormat
import CanonicalJSON
@testable import DatabaseCatalog
import Display
@testable import Export
import Foundation
import XCTest

/// What an export plans before it reads a row: the query's order, object names, the names it
/// refuses.
final class PlanningTests: XCTestCase {
    func column(_ name: String, _ encoding: ColumnEncoding, byBytes: Bool = false) -> TablePlan.PlannedColumn {
        .init(name: name, declaredType: encoding == .integer ? "integer" : "text", encoding: encoding, collatedByBytes: byBytes, collatable: encoding == .text)
    }

    func testTheQueryOrdersByTheKeyInByteOrder() {
        let keyed = TablePlan(schema: "public", name: "users", columns: [column("id", .text), column("n", .integer)], keyColumns: ["id"], filter: "is_active")
        XCTAssertEqual(keyed.selectStatement, #"SELECT "id", "n" FROM "public"."users" WHERE (is_active) ORDER BY "id" COLLATE "C""#)
        let cKeyed = TablePlan(schema: "public", name: "users", columns: [column("id", .text, byBytes: true)], keyColumns: ["id"], filter: nil)
        XCTAssertEqual(cKeyed.selectStatement, #"SELECT "id" FROM "public"."users" ORDER BY "id""#, "a C collation sorts by bytes already: no COLLATE, so the index serves")
        let keyless = TablePlan(schema: "s", name: "t", columns: [column("a", .integer), column("b", .text)], keyColumns: [], filter: nil)
        XCTAssertEqual(keyless.selectStatement, #"SELECT "a", "b" FROM "s"."t" ORDER BY "a"::text COLLATE "C", "b"::text COLLATE "C""#)
        let odd = TablePlan(schema: "we\"ird", name: "ta ble", columns: [column("co\"l", .integer)], keyColumns: ["co\"l"], filter: nil)
        XCTAssertEqual(odd.selectStatement, #"SELECT "co""l" FROM "we""ird"."ta ble" ORDER BY "co""l" COLLATE "C""#)
    }

    func testObjectNamesSortByTimeAndListByDay() {
        let time = ISO8601DateFormatter().date(from: "2026-11-24T18:00:05Z") ?? Date()
        let naming = ObjectNaming(profile: "kessan-user-data", time: time, tag: "0badf00d")
        XCTAssertEqual(naming.objectKey(extension: ".tar.zst.age"), "kessan-user-data/2026/11/24/kessan-user-data-20261124T180005Z-0badf00d.tar.zst.age")
        // Two exports in the same second: two names.
        XCTAssertNotEqual(ObjectNaming(profile: "p", time: time).objectKey(extension: ".tar"), ObjectNaming(profile: "p", time: time).objectKey(extension: ".tar"))
        XCTAssertEqual(ObjectNaming.randomTag().count, 8)
        XCTAssertEqual(naming.createdAt, "2026-11-24T18:00:05Z")
    }

    func testNamesThatWouldLeaveTheStoreOrBreakTheArchiveAreRefused() {
        for good in ["kessan-user-data", "a", "v1.2_x"] { XCTAssertNoThrow(try ArchiveNames.checkProfile(good), good) }
        for bad in ["", "../x", "a/b", ".hidden", "-dash", "a..b", "a\nb", "é"] {
            XCTAssertThrowsError(try ArchiveNames.checkProfile(bad), bad.debugDescription)
        }
        XCTAssertNoThrow(try ArchiveNames.checkTable(schema: "public", name: "users"))
        XCTAssertThrowsError(try ArchiveNames.checkTable(schema: "a.b", name: "c"))
        XCTAssertThrowsError(try ArchiveNames.checkTable(schema: "public", name: "a/b"))
        XCTAssertThrowsError(try ArchiveNames.checkTable(schema: "public", name: "a\u{7F}"))
        XCTAssertNoThrow(try ArchiveNames.checkDistinct(["public.a", "public.b"]))
        XCTAssertThrowsError(try ArchiveNames.checkDistinct(["public.a", "public.a"]))
        XCTAssertThrowsError(try ArchiveNames.checkDistinct(["public.caf\u{E9}", "public.cafe\u{301}"])) { error in
            XCTAssertTrue("\(error)".contains("Unicode normalisation"), "\(error)")
        }
    }

    func testColumnsThatLookSecretAreFlaggedForConfigInit() {
        for secret in ["password_hash", "mfa_secret", "API_KEY", "reset_token", "otp", "user_pin", "totp_seed", "PrivateKey_private_key"] {
            XCTAssertTrue(ProfileDraft.isSecretLooking(secret), secret)
        }
        for plain in ["footprint", "pinned", "email", "salted_by", "keyboard", "id", "is_active", "ticker"] {
            XCTAssertFalse(ProfileDraft.isSecretLooking(plain), plain)
        }
    }

    func testTheStatusLineFitsTheTerminalAndCountsInWords() {
        let progress = TerminalProgress(width: { 80 }, output: { _ in })
        let long = "public." + String(repeating: "a_long_table_name_", count: 6)
        progress.started(tables: [ProgressTable(name: long, estimatedRows: 1_000_000), ProgressTable(name: "public.b", estimatedRows: 10),
                                  ProgressTable(name: "public.c", estimatedRows: nil)])
        progress.tableStarted(table: long)
        progress.chunkWritten(table: long, rows: 250_000, bytes: 100 << 20)
        for width in [40, 80, 200] {
            let line = progress.statusLine(now: Date().addingTimeInterval(10), width: width)
            XCTAssertLessThanOrEqual(line.count, width - 1, line)
            XCTAssertTrue(line.contains("24% 250,000/1,000,010 rows"), line)
        }
        let wide = progress.statusLine(now: Date().addingTimeInterval(10), width: 200)
        XCTAssertTrue(wide.contains("ETA") && wide.contains("(+2 queued)"), wide)
        XCTAssertEqual(Format.plural(1, "row"), "1 row")
        XCTAssertEqual(Format.plural(1_000, "row"), "1,000 rows")
        XCTAssertEqual(Format.plural(2, "chunk"), "2 chunks")
    }

    /// One version: what the binary, the manifests and the seals say is the changelog's newest.
    func testTheVersionIsTheChangelogsNewest() throws {
        var root = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { root.deleteLastPathComponent() }
        let changelog = try String(contentsOf: root.appendingPathComponent("CHANGELOG.md"), encoding: .utf8)
        let newest = changelog.split(separator: "\n").first { $0.hasPrefix("## ") }
        XCTAssertTrue(newest?.hasPrefix("## \(PGSealVersion.current) — ") ?? false, "CHANGELOG.md's newest entry is \(newest ?? "none")")
        XCTAssertEqual(ExportJob.toolVersion, PGSealVersion.current)
    }
}
