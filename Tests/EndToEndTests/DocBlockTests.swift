import Foundation
import TestSupport
import XCTest

/// The guides are runnable as written: every block marked `<!-- doc-test -->` in AUDITORS.md,
/// POST-RESTORE.md and OPERATIONS.md runs, in order, in one bash (`set -euo pipefail`),
/// against the local servers — with only the substitutions below, which put a real archive,
/// store and database where the examples name production ones.
final class DocBlockTests: XCTestCase {
    /// The marked blocks of `document`, in order.
    static func blocks(of document: String) throws -> [String] {
        let text = try String(contentsOfFile: Repository.path("docs/" + document), encoding: .utf8)
        var blocks: [String] = []
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false).makeIterator()
        while let line = lines.next() {
            guard line.trimmingCharacters(in: .whitespaces) == "<!-- doc-test -->" else { continue }
            guard let fence = lines.next(), fence.hasPrefix("```") else { throw TestSetupError("\(document): a doc-test marker not followed by a code block") }
            var block: [Substring] = []
            while let next = lines.next(), !next.hasPrefix("```") { block.append(next) }
            blocks.append(block.joined(separator: "\n"))
        }
        return blocks
    }

    /// Runs the blocks of `document` after `substitutions`, in `directory`.
    func run(_ document: String, substitutions: [(String, String)], in directory: String, environment: [String: String]) throws -> CommandResult {
        var script = try Self.blocks(of: document).joined(separator: "\n")
        XCTAssertFalse(script.isEmpty, "\(document) has no doc-test block")
        for (from, to) in substitutions { script = script.replacingOccurrences(of: from, with: to) }
        var environment = environment
        environment["PATH"] = ((Repository.pgsealBinary as NSString).deletingLastPathComponent) + ":" + (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin")
        return try Command.run(["bash", "-c", "set -euo pipefail\n" + script], environment: environment, directory: directory)
    }

    /// Keys in `work/keys`, and in `work` what an auditor or the on-call engineer holds:
    /// `allowed_signers` and `age-identity.txt`.
    func auditorsKeys(in work: TemporaryDirectory) throws {
        XCTAssertEqual(try PGSealCLI.run(["keygen", "--out", work.file("keys")]).status, 0)
        for file in ["allowed_signers", "age-identity.txt"] {
            try FileManager.default.copyItem(atPath: work.file("keys/" + file), toPath: work.file(file))
        }
    }

    /// An export of the built-in profile into the bucket `kessan-backups` of the test S3 server,
    /// with the keys an auditor holds in `work`; returns the substitutions that name it.
    func auditorsArchive(in work: TemporaryDirectory) throws -> [(String, String)] {
        let s3 = try S3Server.shared()
        _ = try s3.boto("""
            try: s3.create_bucket(Bucket='kessan-backups')
            except s3.exceptions.BucketAlreadyOwnedByYou: pass
            """)
        try auditorsKeys(in: work)
        let exported = try PGSealCLI.run(["export", "--profile", "kessan-user-data", "--db", try ExportFixture.url(), "--to", "s3://kessan-backups/pgseal/",
                                          "-R", work.file("keys/age-recipient.txt"), "--sign-key", work.file("keys/signing-key")],
                                         environment: s3.environment())
        XCTAssertEqual(exported.status, 0, exported.err)
        // s3://kessan-backups/pgseal/kessan-user-data/YYYY/MM/DD/kessan-user-data-YYYYMMDDTHHMMSSZ.tar.zst.age
        let key = exported.out.trimmingCharacters(in: .newlines).dropFirst("s3://kessan-backups/pgseal/".count)
        let parts = key.split(separator: "/")
        guard parts.count == 5, let stem = parts[4].components(separatedBy: ".").first else { throw TestSetupError("unexpected archive key \(key)") }
        return [("kessan-user-data/2026/11/24", parts[0...3].joined(separator: "/")), ("kessan-user-data-20261124T020000Z", stem)]
    }

    func s3Environment() throws -> [String: String] {
        var environment = try S3Server.shared().environment()
        environment["AWS_ENDPOINT_URL"] = environment["PGSEAL_S3_ENDPOINT"]  // for the aws CLI
        environment["AWS_DEFAULT_REGION"] = "us-east-1"
        return environment
    }

    func testTheAuditorsGuideRunsAsWritten() throws {
        let work = try TemporaryDirectory()
        var substitutions = try auditorsArchive(in: work)
        substitutions.append(("postgres://verify@scratch-host/postgres", try PostgresServer.shared().superuserURL))
        // Appendix A, saved as the guide says.
        let guide = try String(contentsOfFile: Repository.path("docs/AUDITORS.md"), encoding: .utf8)
        let appendix = try XCTUnwrap(guide.components(separatedBy: "## Appendix A: recompute_digests.py").last?
            .components(separatedBy: "```python\n").dropFirst().first?.components(separatedBy: "\n```").first)
        XCTAssertEqual(appendix + "\n", try String(contentsOfFile: Repository.path("scripts/recompute_digests.py"), encoding: .utf8),
                       "Appendix A must be scripts/recompute_digests.py")
        try (appendix + "\n").write(toFile: work.file("recompute_digests.py"), atomically: true, encoding: .utf8)
        let result = try run("AUDITORS.md", substitutions: substitutions, in: work.path, environment: try s3Environment())
        XCTAssertEqual(result.status, 0, result.out + result.err)
        for expected in ["verified at level seal", "Good \"pgseal\" signature for", "manifest ok", "verified at level deep", "verified at level restore",
                         "kessan-user-data: INTACT", "recorded: ", "restore-verified", "report written to evidence.html"] {
            XCTAssertTrue((result.out + result.err).contains(expected), "expected «\(expected)» in:\n\(result.out)\n\(result.err)")
        }
        XCTAssertTrue(FileManager.default.fileExists(atPath: work.file("verify.json")))
        XCTAssertTrue(FileManager.default.fileExists(atPath: work.file("evidence.html")))
        XCTAssertTrue(FileManager.default.fileExists(atPath: work.file("evidence.json")))
    }

    func testThePostRestoreGuideRunsAsWritten() throws {
        let work = try TemporaryDirectory()
        try auditorsKeys(in: work)
        let exported = try PGSealCLI.run(["export", "--profile", "kessan-user-data", "--db", try ExportFixture.url(), "--to", work.file("store"),
                                          "-R", work.file("keys/age-recipient.txt"), "--sign-key", work.file("keys/signing-key")])
        XCTAssertEqual(exported.status, 0, exported.err)
        let result = try run("POST-RESTORE.md", substitutions: [("/var/backups/pgseal", work.file("store")), ("postgres://oncall@db/kessan", try ExportFixture.url())],
                             in: work.path, environment: [:])
        XCTAssertEqual(result.status, 0, result.out + result.err)
        XCTAssertTrue(result.out.contains("nothing missing"), result.out + result.err)
        XCTAssertTrue(FileManager.default.fileExists(atPath: work.file("diff.json")))
    }

    func testTheOperationsWalkthroughRunsAsWritten() throws {
        let work = try TemporaryDirectory()
        defer {
            _ = try? Command.run([Repository.path("scripts/s3server.sh"), "stop", work.file("s3")])
            _ = try? Command.run([Repository.path("scripts/pgcluster.sh"), "stop", work.file("pg")])
        }
        // As /tmp is: the postgres user starts the cluster there (scripts/pgcluster.sh).
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: work.path)
        let result = try run("OPERATIONS.md", substitutions: [("/tmp/", work.path + "/")], in: Repository.root, environment: [:])
        XCTAssertEqual(result.status, 0, result.out + result.err)
        XCTAssertTrue(result.err.contains("verified at level restore") || result.out.contains("verified at level restore"), result.out + result.err)
    }

    /// Each message of AUDITORS.md's table, produced for real: the words are pgseal's.
    func testTheAuditorsMessageTableIsWhatPgsealPrints() throws {
        let guide = try String(contentsOfFile: Repository.path("docs/AUDITORS.md"), encoding: .utf8)
        let work = try TemporaryDirectory()
        XCTAssertEqual(try PGSealCLI.run(["keygen", "--out", work.file("keys")]).status, 0)
        XCTAssertEqual(try PGSealCLI.run(["keygen", "--out", work.file("stranger")]).status, 0)
        let exported = try PGSealCLI.run(["export", "--profile", "kessan-user-data", "--db", try ExportFixture.url(), "--to", work.file("store"),
                                          "-R", work.file("keys/age-recipient.txt"), "--sign-key", work.file("keys/signing-key")])
        XCTAssertEqual(exported.status, 0, exported.err)
        let archive = exported.out.trimmingCharacters(in: .newlines)
        let size = try fileSize(archive)
        func copy(_ label: String, _ change: (String) throws -> Void) throws -> String {
            let copied = try Tampering.copy(archive, to: work.file(label))
            try change(copied)
            return copied
        }
        func flip(_ path: String, at position: Int) throws {
            var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
            bytes[position] ^= 0x01
            try Data(bytes).write(to: URL(fileURLWithPath: path))
        }
        let cases: [(String, [String], Int32, [String])] = [
            ("verified at level seal", [archive], 0, []),
            ("which is not a trusted signer", [archive], 1, ["--trusted-key", work.file("stranger/allowed_signers")]),
            ("does not match the signed file: it was altered", [try copy("edited-seal") { try "\n".appendTo($0 + ".seal") }], 1, []),
            ("the object was altered", [try copy("altered") { try flip($0, at: size / 2) }], 1, []),
            ("the object was truncated or extended", [try copy("cut") { try Data([UInt8](try Data(contentsOf: URL(fileURLWithPath: $0))).prefix(size - 10)).write(to: URL(fileURLWithPath: $0)) }], 1, []),
            (".seal.sig is missing: an archive without a signed seal is an interrupted or unsigned export", [try copy("unsigned") { try FileManager.default.removeItem(atPath: $0 + ".seal.sig") }], 1, []),
            ("does not exist", [work.file("store/no-such.tar.zst.age")], 2, []),
        ]
        for (words, arguments, status, trust) in cases {
            XCTAssertTrue(guide.contains(words), "AUDITORS.md's table lacks «\(words)»")
            let result = try PGSealCLI.run(["verify"] + arguments + ["--level", "seal"] + (trust.isEmpty ? ["--trusted-key", work.file("keys/allowed_signers")] : trust))
            XCTAssertEqual(result.status, status, "\(words): \(result.out)\(result.err)")
            XCTAssertTrue((result.out + result.err).contains(words), "expected «\(words)» in: \(result.out)\(result.err)")
        }
        let damaged = try copy("age") { try flip($0, at: size / 2) }
        let deep = try PGSealCLI.run(["verify", damaged, "--level", "deep", "--trusted-key", work.file("keys/allowed_signers"), "-i", work.file("keys/age-identity.txt")])
        XCTAssertEqual(deep.status, 1)
        XCTAssertTrue(deep.out.split(separator: "\n").contains { $0.hasPrefix("  age: ") }, deep.out + deep.err)
    }

    /// SECURITY.md names the tests behind its sentences (`Class.testMethod`, then `.testOther`
    /// of the same class): each must exist, so that no sentence cites a test that is gone.
    func testEveryTestSecurityMdCitesExists() throws {
        let cited = try citedTests(in: "docs/SECURITY.md")
        XCTAssertGreaterThan(cited.count, 20, "SECURITY.md names the tests behind its sentences")
    }

    /// TESTING.md's map of promises: every row names a test, and every test it names exists in
    /// the class it names — so that the map cannot promise what no test holds.
    func testEveryPromiseInTestingMdNamesATestThatExists() throws {
        let text = try String(contentsOfFile: Repository.path("docs/TESTING.md"), encoding: .utf8)
        let map = try XCTUnwrap(text.components(separatedBy: "## Promises and the tests behind them").dropFirst().first?
            .components(separatedBy: "\n## ").first, "TESTING.md has its map of promises")
        let rows = map.split(separator: "\n").filter { $0.hasPrefix("| ") && !$0.hasPrefix("| promise ") }
        XCTAssertGreaterThan(rows.count, 60, "the map's rows")
        let citation = try NSRegularExpression(pattern: #"[A-Z][A-Za-z0-9]+Tests\.test[A-Za-z0-9]+"#)
        for row in rows {
            let line = String(row)
            let cells = line.split(separator: "|", omittingEmptySubsequences: false)
            let tests = cells.count > 2 ? String(cells[2]) : ""
            XCTAssertGreaterThan(citation.numberOfMatches(in: tests, range: NSRange(tests.startIndex..., in: tests)), 0,
                                 "a promise without a test in TESTING.md: \(line)")
        }
        let cited = try citedTests(in: "docs/TESTING.md")
        XCTAssertGreaterThan(cited.count, 100, "TESTING.md's citations")
    }

    /// Every `Class.testMethod` a document cites (a bare `.testMethod` continues the last class
    /// named) must be a method in that class's body in Tests/. Returns the citations.
    func citedTests(in document: String) throws -> [String] {
        let text = try String(contentsOfFile: Repository.path(document), encoding: .utf8)
        var bodies: [String: String] = [:]
        for path in try FileManager.default.subpathsOfDirectory(atPath: Repository.path("Tests")) where path.hasSuffix(".swift") {
            let source = try String(contentsOfFile: Repository.path("Tests/" + path), encoding: .utf8)
            for piece in source.components(separatedBy: "\nfinal class ").dropFirst() {
                let name = String(piece.prefix { $0.isLetter || $0.isNumber })
                bodies[name, default: ""] += piece
            }
        }
        let citation = try NSRegularExpression(pattern: #"([A-Z][A-Za-z0-9]+Tests)?\.(test[A-Za-z0-9]+)"#)
        var currentClass = ""
        var cited: [String] = []
        for match in citation.matches(in: text, range: NSRange(text.startIndex..., in: text)) {
            if let range = Range(match.range(at: 1), in: text) { currentClass = String(text[range]) }
            guard let method = Range(match.range(at: 2), in: text).map({ String(text[$0]) }) else { continue }
            guard let body = bodies[currentClass] else {
                XCTFail("\(document) cites class \(currentClass), which no test defines")
                continue
            }
            XCTAssertTrue(body.contains("func \(method)("), "\(document) cites \(currentClass).\(method), which that class does not define")
            cited.append("\(currentClass).\(method)")
        }
        return cited
    }

}

private extension String {
    func appendTo(_ path: String) throws {
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        defer { try? handle.close() }
        try handle.seekToEnd()
        try handle.write(contentsOf: Data(utf8))
    }

}
