import Cryptography
import Foundation
import TestSupport
import XCTest

/// Issue 24's second pass over the trust boundary: what a writer of the store, an insider with
/// the exporter's key, or an S3 endpoint could still make pgseal pick, print or crash on.
/// Each test feeds the hostile case; each failed against 0.4.0.
final class TrustSecondPassTests: XCTestCase {
    var keys: TemporaryDirectory!
    var store: TemporaryDirectory!
    var archive: String!

    override func setUpWithError() throws {
        keys = try TemporaryDirectory()
        store = try TemporaryDirectory()
        archive = try Tampering.signedExport(keys: keys, store: store)
    }

    var trusted: [String] { ["--trusted-key", keys.file("allowed_signers")] }

    /// Rewrites the seal of `path` with `edit` (Python on `seal`) and signs it with the
    /// exporter's key, as an insider (or a compromised export host) would.
    func resign(_ path: String, _ edit: String) throws {
        let script = "import json, sys\nseal = json.load(open(sys.argv[1]))\n\(edit)\njson.dump(seal, open(sys.argv[1], 'w'), indent=2, sort_keys=True)"
        let edited = try Command.run(["python3", "-c", script, path + ".seal"])
        XCTAssertEqual(edited.status, 0, edited.err)
        let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path + ".seal")))
        let signature = try SSHSignature.sign(bytes, namespace: "pgseal", key: try SSHSigningKey.load(file: keys.file("signing-key")))
        try signature.write(toFile: path + ".seal.sig", atomically: true, encoding: .utf8)
    }

    /// Ended by exit(), not by a trap or a signal.
    func assertExited(_ result: CommandResult, in codes: [Int32] = [0, 1, 2], file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertTrue(codes.contains(result.status), "exit \(result.status): \(result.err)", file: file, line: line)
        XCTAssertFalse(result.err.contains("Fatal error") || result.err.contains("overflow"), result.err, file: file, line: line)
    }

    // Item 4: a genuine archive of profile A copied into B's folder is not B's newest.
    func testAnotherProfilesArchiveIsNeverTheNewestOfThisProfile() throws {
        let copy = try Tampering.copy(archive, to: store.file("other-profile/2026/12/04"))
        let verify = try PGSealCLI.run(["verify", store.path, "--latest", "--profile", "other-profile", "--level", "seal"] + trusted)
        XCTAssertEqual(verify.status, 2, verify.out + verify.err)
        XCTAssertTrue(verify.err.contains("no archive of profile other-profile") && verify.err.contains("1 whose seal does not"), verify.err)
        let listed = try PGSealCLI.run(["list", store.path, "--profile", "other-profile", "--json"] + trusted)
        XCTAssertEqual(listed.status, 0, listed.err)
        let catalog = try JSONDocument(data: listed.stdout)
        XCTAssertEqual(try catalog["sealed"].array().count, 0)
        let misplaced = try XCTUnwrap(try catalog["unverified"].array().first)
        XCTAssertEqual(try misplaced["location"].string(), copy)
        XCTAssertEqual(try misplaced["trust"].string(), "invalid")
        let problem = try misplaced["problem"].string()
        XCTAssertTrue(problem.contains("signed for profile kessan-user-data"), problem)
        // Its own profile's newest is still the genuine one; the series of the other shows the copy as invalid.
        let own = try PGSealCLI.run(["verify", store.path, "--latest", "--profile", "kessan-user-data", "--level", "seal"] + trusted)
        XCTAssertEqual(own.status, 0, own.err)
        XCTAssertTrue(own.out.contains(archive), own.out)
        let chain = try PGSealCLI.run(["chain", store.path, "--profile", "other-profile"] + trusted)
        XCTAssertNotEqual(chain.status, 0, chain.out)
        let restore = try PGSealCLI.run(["restore", store.path, "--latest", "--profile", "other-profile", "--db", try ExportFixture.url()] + trusted)
        XCTAssertEqual(restore.status, 2, restore.err)
    }

    // Item 5: counts from a signed seal that add past Int.max neither trap list, report nor check.
    func testRowCountsPastIntMaxInASignedSealTrapNothing() throws {
        try resign(archive, "for t in seal['tables'][:2]: t['rows'] = 2**63 - 1")
        let list = try PGSealCLI.run(["list", store.path] + trusted)
        assertExited(list, in: [0])
        XCTAssertTrue(list.out.contains("more rows than a count holds"), list.out)
        XCTAssertTrue(list.out.contains("9,223,372,036,854,775,807"), list.out)
        let html = store.file("../evidence.html")
        let report = try PGSealCLI.run(["report", store.path, "--html", html] + trusted)
        assertExited(report, in: [0, 1])
        XCTAssertTrue(try String(contentsOfFile: html, encoding: .utf8).contains("9,223,372,036,854,775,807"))
        let check = try PGSealCLI.run(["check", store.path, "--max-age", "1h", "--metrics-file", store.file("../m.prom")] + trusted)
        assertExited(check, in: [0])
        // The deep level compares the rows it counts with the seal's: a mismatch, not a trap.
        let deep = try PGSealCLI.run(["verify", archive, "--level", "deep"] + trusted)
        assertExited(deep, in: [1])
    }

    // Item 5: sizes from an S3 listing that add past Int64.max.
    func testListingSizesPastInt64MaxTrapNothing() throws {
        let hostile = try HostileS3(mode: "overflow")
        let list = try PGSealCLI.run(["list", "s3://bucket/"] + trusted, environment: hostile.environment)
        assertExited(list, in: [0])
        XCTAssertTrue(list.out.contains("p-20261201T000000Z"), list.out)
    }

    // Item 6: a table name with a newline in a signed seal cannot forge a metrics line.
    func testATableNameFromASealCannotForgeAMetricsSample() throws {
        let forged = "public.users\"} 1\npgseal_archive_ok{profile=\"forged\"} 1\n#"
        try resign(archive, "seal['tables'][0]['name'] = \(try pythonLiteral(forged))")
        let metrics = store.file("../pgseal.prom")
        let check = try PGSealCLI.run(["check", store.path, "--max-age", "1h", "--metrics-file", metrics] + trusted)
        assertExited(check, in: [0, 1])
        let text = try String(contentsOfFile: metrics, encoding: .utf8)
        XCTAssertFalse(text.split(separator: "\n").contains { $0.hasPrefix("pgseal_archive_ok{profile=\"forged\"}") }, text)
        // Parsed as a scraper parses it: one file, every sample of a known family, the hostile
        // name intact as one label value.
        let parse = """
            import sys
            from prometheus_client.parser import text_string_to_metric_families
            samples = [s for f in text_string_to_metric_families(open(sys.argv[1]).read()) for s in f.samples]
            assert all(s.labels.get("profile") in (None, "kessan-user-data") for s in samples), samples
            tables = sorted(s.labels["table"] for s in samples if s.name == "pgseal_archive_rows")
            print(repr(tables))
            """
        let parsed = try Command.run(["python3", "-c", parse, metrics])
        XCTAssertEqual(parsed.status, 0, parsed.err + text)
        XCTAssertTrue(parsed.out.contains(#"'public.users"} 1\npgseal_archive_ok{profile="forged"} 1\n#'"#), parsed.out)
    }

    // Item 7: listings that never end, or cost more than their size, are refused in bounded time.
    func testHostileS3ListingsAreRefusedInBoundedTime() throws {
        for (mode, expected) in [("endless", "repeats the marker"), ("fresh", "more than"), ("badsize", "is 12; DROP"),
                                 ("outside", "outside the prefix"), ("doctype", "document type")] {
            let hostile = try HostileS3(mode: mode)
            let started = Date()
            let list = try PGSealCLI.run(["list", "s3://bucket/pfx/"] + trusted, environment: hostile.environment)
            let seconds = Date().timeIntervalSince(started)
            assertExited(list, in: [2])
            XCTAssertTrue(list.err.contains("ListObjectsV2") && list.err.contains(expected), "\(mode): \(list.err)")
            XCTAssertLessThan(seconds, mode == "fresh" ? 60 : 10, "\(mode) took \(seconds) s")
            print("hostile listing \(mode): exit \(list.status) after \(try hostile.requests()) request(s), \(String(format: "%.2f", seconds)) s")
        }
        // A wide page (10,000 long keys, 2.9 MB of XML) parses in linear time; one more entry than
        // a page may hold is refused.
        for (count, status) in [(10_000, Int32(0)), (10_001, 2)] {
            let hostile = try HostileS3(mode: "wide", count: count)
            let started = Date()
            let list = try PGSealCLI.run(["list", "s3://bucket/", "--json"] + trusted, environment: hostile.environment)
            let seconds = Date().timeIntervalSince(started)
            assertExited(list, in: [status])
            XCTAssertLessThan(seconds, 10, "a page of \(count) entries took \(seconds) s")
            print("hostile listing wide \(count): exit \(list.status), \(String(format: "%.2f", seconds)) s")
        }
    }

    // Item 5, as a rule of the code: no sum in Sources is written with `+` over a sequence
    // (`reduce(0, +)`, `reduce(0) { $0 + … }`); ByteStreams' checkedSum/saturatingSum serve.
    func testNoSourceSumsASequenceWithUncheckedAddition() throws {
        let sources = try FileManager.default.subpathsOfDirectory(atPath: Repository.path("Sources")).filter { $0.hasSuffix(".swift") }
        let unchecked = try NSRegularExpression(pattern: #"reduce\((Int64\()?0\)?\s*(,\s*\+|\)?\s*\{[^}]*\$0\s*\+)"#)
        var found: [String] = []
        for path in sources {
            let text = try String(contentsOfFile: Repository.path("Sources/" + path), encoding: .utf8)
            for (number, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
                let line = String(line)
                if unchecked.firstMatch(in: line, range: NSRange(line.startIndex..., in: line)) != nil { found.append("Sources/\(path):\(number + 1): \(line)") }
            }
        }
        XCTAssertEqual(found, [], "sums with unchecked addition")
        XCTAssertGreaterThan(sources.count, 100)
    }

    func pythonLiteral(_ text: String) throws -> String {
        String(decoding: try JSONSerialization.data(withJSONObject: [text]), as: UTF8.self).dropFirst().dropLast().description
    }
}

/// Tests/EndToEndTests/HostileS3/hostile_s3.py: an S3 endpoint whose listings are hostile.
final class HostileS3 {
    let server: LoopbackServer
    let countFile = NSTemporaryDirectory() + "pgseal-hostile-s3-\(UUID().uuidString)"

    init(mode: String, count: Int = 0) throws {
        server = try LoopbackServer(script: "Tests/EndToEndTests/HostileS3/hostile_s3.py", arguments: [mode, String(count), countFile])
    }

    var environment: [String: String] {
        ["PGSEAL_S3_ENDPOINT": server.url, "AWS_ACCESS_KEY_ID": "AKIDHOSTILE", "AWS_SECRET_ACCESS_KEY": "secret", "AWS_REGION": "us-east-1"]
    }

    func requests() throws -> Int {
        ((try? String(contentsOfFile: countFile, encoding: .utf8)) ?? "").split(separator: "\n").count
    }

    deinit { try? FileManager.default.removeItem(atPath: countFile) }
}
