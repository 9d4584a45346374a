import Foundation
import TestSupport
import XCTest

/// `pgseal list` and `pgseal check`: the monitor's exit codes, alerts and metrics for fresh,
/// late, missing, corrupted and unsealed archives.
final class CheckTests: XCTestCase {
    var keys: TemporaryDirectory!
    var store: TemporaryDirectory!

    override func setUpWithError() throws {
        keys = try TemporaryDirectory()
        store = try TemporaryDirectory()
        XCTAssertEqual(try PGSealCLI.run(["keygen", "--out", keys.path]).status, 0)
    }

    func export() throws -> String {
        let result = try PGSealCLI.run(["export", "--db", try ExportFixture.url(), "--to", store.path,
                                        "--recipients-file", keys.file("age-recipient.txt"), "--sign-key", keys.file("signing-key")])
        XCTAssertEqual(result.status, 0, result.err)
        return result.out.trimmingCharacters(in: .newlines)
    }

    func check(_ extra: [String]) throws -> CommandResult {
        try PGSealCLI.run(["check", store.path, "--trusted-key", keys.file("allowed_signers")] + extra)
    }

    /// Starts the webhook receiver; returns its URL and the file its POST bodies go to.
    func receiver() throws -> (String, String, LoopbackServer) {
        let bodies = store.file("../hooks-\(UUID().uuidString)")
        let server = try LoopbackServer(script: "Tests/EndToEndTests/Webhook/receiver.py", arguments: [bodies])
        return (server.url + "/hook", bodies, server)
    }

    func testFreshArchivesPassAndWriteMetrics() throws {
        let archive = try export()
        let listed = try PGSealCLI.run(["list", store.path])
        XCTAssertTrue(listed.out.contains("sealed  \(archive)"), listed.out)
        let result = try check(["--max-age", "1h", "--metrics-file", store.file("../m.prom")])
        XCTAssertEqual(result.status, 0, result.out + result.err)
        let metrics = try String(contentsOfFile: store.file("../m.prom"), encoding: .utf8)
        XCTAssertTrue(metrics.contains("pgseal_archive_ok{profile=\"kessan-user-data\"} 1"), metrics)
        XCTAssertTrue(metrics.contains("pgseal_archive_rows{profile=\"kessan-user-data\",table=\"public.user_watchlist\"} 10004"), metrics)
        XCTAssertTrue(metrics.contains("pgseal_last_success_timestamp_seconds{profile=\"kessan-user-data\"}"), metrics)
    }

    func testLateMissingAndCorruptedArchivesFailAndAlert() throws {
        let (hook, bodies, server) = try receiver()
        defer { withExtendedLifetime(server) {} }
        let empty = try check(["--max-age", "1h", "--alert-webhook", hook])
        XCTAssertEqual(empty.status, 1, empty.out + empty.err)
        XCTAssertTrue(empty.out.contains("no archive of any profile"), empty.out)

        let archive = try export()
        Thread.sleep(forTimeInterval: 2.1)
        let late = try check(["--max-age", "1s", "--alert-webhook", hook, "--metrics-file", store.file("../late.prom")])
        XCTAssertEqual(late.status, 1, late.out + late.err)
        XCTAssertTrue(late.out.contains("kessan-user-data: late"), late.out)
        XCTAssertTrue(try String(contentsOfFile: store.file("../late.prom"), encoding: .utf8).contains("pgseal_archive_ok{profile=\"kessan-user-data\"} 0"))

        let missing = try check(["--max-age", "1h", "--profile", "billing", "--alert-webhook", hook])
        XCTAssertEqual(missing.status, 1)
        XCTAssertTrue(missing.out.contains("billing: missing"), missing.out)

        var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: archive)))
        bytes[bytes.count / 2] ^= 0xFF
        try Data(bytes).write(to: URL(fileURLWithPath: archive))
        let corrupted = try check(["--max-age", "1h", "--alert-webhook", hook])
        XCTAssertEqual(corrupted.status, 1)
        XCTAssertTrue(corrupted.out.contains("kessan-user-data: failed") && corrupted.out.contains("SHA-256"), corrupted.out)

        let alerts = try String(contentsOfFile: bodies, encoding: .utf8).split(separator: "\n")
        XCTAssertEqual(alerts.count, 4, alerts.joined(separator: "\n"))
        let last = try JSONSerialization.jsonObject(with: Data(alerts.last!.utf8)) as? [String: String]
        XCTAssertTrue(last?["text"]?.contains("kessan-user-data: failed") ?? false, "\(String(describing: last))")
    }

    func testAnUnsealedNewestArchiveIsNotAnArchive() throws {
        let older = try export()
        Thread.sleep(forTimeInterval: 1.1)
        let newest = try export()
        try FileManager.default.removeItem(atPath: newest + ".seal.sig")
        let listed = try PGSealCLI.run(["list", store.path, "--json"])
        let json = try JSONSerialization.jsonObject(with: Data(listed.stdout)) as! [String: [[String: Any]]]
        XCTAssertEqual(json["sealed"]?.map { $0["location"] as! String }, [older])
        XCTAssertEqual(json["incomplete"]?.map { $0["location"] as! String }, [newest])
        let result = try check(["--max-age", "1h"])
        XCTAssertEqual(result.status, 0, result.out + result.err)
        XCTAssertTrue(result.out.contains(older), "check must judge the newest *sealed* archive: \(result.out)")
    }
}
