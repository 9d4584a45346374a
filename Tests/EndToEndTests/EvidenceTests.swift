import Foundation
import TestSupport
import XCTest

/// The auditors' evidence (issue 13): a series whose breaks are found, verifications recorded
/// and required, and the report — opened in Chromium as a person would, its printed text
/// checked for the facts planted in the store.
final class EvidenceTests: StoreTestCase {
    var verifier: TemporaryDirectory!

    override func setUpWithError() throws {
        try super.setUpWithError()
        verifier = try TemporaryDirectory()
        XCTAssertEqual(try PGSealCLI.run(["keygen", "--out", verifier.path, "--signer", "drill@audit", "--verifier"]).status, 0)
    }

    var trusted: [String] { ["--trusted-key", keys.file("allowed_signers")] }
    var verifierTrust: [String] { ["--trusted-verifier", verifier.file("allowed_signers")] }

    /// One export of the fixture's profile from `database` into `store`; the archive's location.
    func exportProfile(from database: String, to store: String) throws -> String {
        let result = try pgseal(["export", "--profile", "kessan-user-data", "--db", try PostgresServer.shared().url(database: database),
                                 "--to", store, "-R", keys.file("age-recipient.txt"), "--sign-key", keys.file("signing-key")])
        XCTAssertEqual(result.status, 0, result.err)
        Thread.sleep(forTimeInterval: 1.1)  // archive names have a resolution of one second
        return result.out.trimmingCharacters(in: .newlines)
    }

    func name(_ location: String) -> String { String(location.split(separator: "/").last ?? "") }

    func testTheReportShowsWhatWasPlantedAsAPersonSeesIt() throws {
        let database = try PostgresServer.shared().fixtureDatabase(users: 200, label: "evidence", for: self)
        let store = try TemporaryDirectory()
        var archives = try (0..<2).map { _ in try exportProfile(from: database, to: store.path) }
        // Planted: half the watchlist gone, then a night without an export.
        _ = try PostgresServer.shared().psql("DELETE FROM user_watchlist WHERE ctid IN (SELECT ctid FROM user_watchlist ORDER BY random() LIMIT (SELECT count(*) / 2 FROM user_watchlist))", database: database)
        Thread.sleep(forTimeInterval: 9)
        archives += try (0..<4).map { _ in try exportProfile(from: database, to: store.path) }

        // A restore drill on the newest, recorded; a deep verification of a damaged one, recorded as failed.
        let drill = try pgseal(["verify", archives[5], "--level", "restore", "-i", keys.file("age-identity.txt"),
                                "--scratch-db", try PostgresServer.shared().superuserURL, "--attest-key", verifier.file("signing-key"), "--json"] + trusted)
        XCTAssertEqual(drill.status, 0, drill.err)
        let drillReport = try JSONDocument(data: drill.stdout)
        let attestation = try drillReport["attestation"].string()
        XCTAssertTrue(FileManager.default.fileExists(atPath: attestation) && FileManager.default.fileExists(atPath: attestation + ".sig"), attestation)
        let signed = try Command.run(["ssh-keygen", "-Y", "verify", "-f", verifier.file("allowed_signers"), "-I", "drill@audit",
                                      "-n", "pgseal-attestation", "-s", attestation + ".sig"], stdin: try Data(contentsOf: URL(fileURLWithPath: attestation)))
        XCTAssertEqual(signed.status, 0, "ssh-keygen does not accept the attestation's signature: \(signed.out) \(signed.err)")
        try Tampering.flipByte(in: archives[3], at: 4000)
        let damaged = try pgseal(["verify", archives[3], "--level", "deep", "-i", keys.file("age-identity.txt"),
                                  "--attest-key", verifier.file("signing-key")] + trusted)
        XCTAssertEqual(damaged.status, 1, damaged.out + damaged.err)
        XCTAssertTrue(damaged.out.contains("recorded: "), damaged.out)

        // Retention removes the oldest (a tombstone); someone removes archive 4 with its seal.
        let pruned = try pgseal(["prune", store.path, "--keep-last", "5", "--keep-within", "1s"] + trusted)
        XCTAssertEqual(pruned.status, 0, pruned.err)
        for suffix in ["", ".sha256", ".seal", ".seal.sig"] { try FileManager.default.removeItem(atPath: archives[4] + suffix) }

        let chain = try pgseal(["chain", store.path, "--json"] + trusted)
        XCTAssertEqual(chain.status, 1, chain.out + chain.err)
        let chainProfile = try XCTUnwrap(try JSONDocument(data: chain.stdout)["profiles"].array().first)
        XCTAssertEqual(try chainProfile["breaks"].array().map { try $0["kind"].string() }, ["missing"])
        XCTAssertEqual(try chainProfile["breaks"].array().first?["object"].string(), name(archives[5]))
        XCTAssertEqual(try chainProfile["tombstones"].int(), 1)

        let page = store.file("evidence.html"), json = store.file("evidence.json")
        let report = try pgseal(["report", store.path, "--html", page, "--report", json, "--rpo", "7s", "--expect-every", "2s"] + trusted + verifierTrust)
        XCTAssertEqual(report.status, 1, "findings exit 1: \(report.out) \(report.err)")
        XCTAssertTrue(report.out.contains("report written to \(page)"), report.out)

        // The JSON: every planted fact, at its place.
        let evidence = try XCTUnwrap(try JSONDocument(file: json)["profiles"].array().first)
        let byObject = try evidence["archives"].keyed(by: "object")
        XCTAssertEqual(try byObject[name(archives[0])]?["state"].string(), "tombstone")
        XCTAssertNotNil(try byObject[name(archives[0])]?["removed_at"].string())
        XCTAssertNil(byObject[name(archives[4])], "a removed archive with its seal leaves only the break")
        XCTAssertEqual(try evidence["chain"]["status"].string(), "broken")
        let beforeGap = try XCTUnwrap(byObject[name(archives[1])])["created_at"].string()
        XCTAssertTrue(try evidence["gaps"].array().contains { try $0["from"].string() == beforeGap }, "\(evidence["gaps"])")
        let anomalies = try evidence["anomalies"].array()
        XCTAssertTrue(try anomalies.contains { try $0["table"].string() == "public.user_watchlist" && $0["kind"].string() == "shrank" && $0["object"].string() == name(archives[2]) },
                      "\(evidence["anomalies"])")
        XCTAssertEqual(try evidence["last_verified"]["restore"]["object"].string(), name(archives[5]))
        let failed = try XCTUnwrap(byObject[name(archives[3])])["attestations"].array()
        XCTAssertEqual(try failed.map { try $0["result"].string() }, ["failed"])
        XCTAssertEqual(try evidence["failed_verifications"].int(), 1)

        // The page as a person sees it: self-contained, printed, and saying the same.
        let html = try String(contentsOfFile: page, encoding: .utf8)
        XCTAssertFalse(html.lowercased().contains("<script"), "the page runs no script")
        XCTAssertFalse(html.contains("http://") || html.contains("https://"), "the page fetches nothing")
        XCTAssertTrue(html.contains("@media print"))
        let png = store.file("evidence.png")
        try Chromium.screenshot(page, to: png)
        XCTAssertGreaterThan(try fileSize(png), 50_000, "a screenshot of an empty page")
        // docs/report.png is refreshed this way: PGSEAL_EVIDENCE_SCREENSHOT=docs/report.png.
        if let keep = ProcessInfo.processInfo.environment["PGSEAL_EVIDENCE_SCREENSHOT"] {
            for old in [keep, keep + ".html"] { try? FileManager.default.removeItem(atPath: old) }
            try FileManager.default.copyItem(atPath: png, toPath: keep)
            try FileManager.default.copyItem(atPath: page, toPath: keep + ".html")
        }
        let text = try Chromium.printedText(page, pdf: store.file("evidence.pdf"))
        XCTAssertGreaterThan(try Chromium.pages(store.file("evidence.pdf")), 1)
        for fact in ["pgseal evidence report", "Profile kessan-user-data", "BROKEN", "missing", "removed by prune", "public.user_watchlist shrank from",
                     "deep FAILED", "restore-verified", "drill@audit", "Trusted keys", "What was checked", "No archive object was read"] {
            XCTAssertTrue(text.contains(fact), "the printed page lacks “\(fact)”:\n\(text.prefix(4000))")
        }
        // The gap's row: its start, its end and its length as the page prints a span under two
        // minutes, on one line of the printed table.
        let gap = try XCTUnwrap(try evidence["gaps"].array().first)
        let (from, to) = (try gap["from"].string(), try gap["to"].string())
        let seconds = Int((try gap["hours"].typedDouble() * 3600).rounded())
        XCTAssertLessThan(seconds, 120, "the planted gap is seconds long: \(gap)")
        XCTAssertTrue(text.split(separator: "\n").contains { $0.contains(from) && $0.contains(to) && $0.hasSuffix(" \(seconds) s") },
                      "the gap from \(from) to \(to) is printed with its \(seconds) s:\n\(text.prefix(4000))")
    }

    func testRecordedVerificationsAreRequiredCheckedAndCarriedInABucket() throws {
        let bucket = try s3.makeBucket()
        let store = "s3://\(bucket)/nightly/"
        let archives = try (0..<3).map { _ in try export(to: store) }
        let chain = try pgseal(["chain", store] + trusted)
        XCTAssertEqual(chain.status, 0, chain.out + chain.err)
        XCTAssertTrue(chain.out.contains("kessan-user-data: INTACT — 3 seals, 3 linked"), chain.out)

        // The seal level reports what the signed seal says, per table, with the keys it was checked against.
        let sealLevel = try JSONDocument(data: try pgseal(["verify", archives[2], "--level", "seal", "--json"] + trusted).stdout)
        XCTAssertFalse(try sealLevel["seal"]["tables"].array().isEmpty)
        XCTAssertEqual(try sealLevel["trusted_keys"].strings().count, 1)
        XCTAssertTrue(try sealLevel["verified_at"].string().hasSuffix("Z"))
        XCTAssertTrue(try sealLevel["seal"]["wal_lsn"].string().contains("/"))
        XCTAssertTrue(try sealLevel["tool"].string().hasPrefix("pgseal "))

        let require = ["check", store, "--max-age", "1h", "--require-restore-verified-within", "35d", "--json"] + trusted
        let before = try pgseal(require + verifierTrust)
        XCTAssertEqual(before.status, 1, before.out + before.err)
        XCTAssertEqual(try JSONDocument(data: before.stdout)["profiles"].array().first?["status"].string(), "unattested")

        let drill = try pgseal(["verify", archives[1], "--level", "restore", "-i", keys.file("age-identity.txt"), "--scratch-db",
                                try PostgresServer.shared().superuserURL, "--attest-key", verifier.file("signing-key")] + trusted)
        XCTAssertEqual(drill.status, 0, drill.err)
        let after = try pgseal(require + verifierTrust)
        XCTAssertEqual(after.status, 0, after.out + after.err)
        let verified = try XCTUnwrap(try JSONDocument(data: after.stdout)["profiles"].array().first)["last_verified"]["restore"]
        XCTAssertTrue(try verified["archive"].string().hasSuffix(name(archives[1])))
        // Only the trusted verifiers' records count: the exporter's key is not the verifier's.
        let otherVerifier = try pgseal(require)
        XCTAssertEqual(otherVerifier.status, 1, otherVerifier.out)
        // A deep requirement is met by the restore verification, which includes it.
        XCTAssertEqual(try pgseal(["check", store, "--max-age", "1h", "--require-deep-verified-within", "1d"] + trusted + verifierTrust).status, 0)

        // Replicated in order, the series and its records hold in the copy.
        let copy = try s3.makeBucket()
        for archive in archives {
            XCTAssertEqual(try pgseal(["replicate", archive, "--to", "s3://\(copy)/dr/"] + trusted).status, 0)
        }
        let copied = try pgseal(["chain", "s3://\(copy)/dr/"] + trusted)
        XCTAssertEqual(copied.status, 0, copied.out + copied.err)
        XCTAssertEqual(try pgseal(["check", "s3://\(copy)/dr/", "--max-age", "1h", "--require-restore-verified-within", "35d"] + trusted + verifierTrust).status, 0)

        // An archive taken from the middle of the series, seal and all, is found.
        let middle = String(archives[1].dropFirst("s3://\(bucket)/".count))
        _ = try s3.boto("for k in ['', '.sha256', '.seal', '.seal.sig']: s3.delete_object(Bucket='\(bucket)', Key='\(middle)' + k)")
        let broken = try pgseal(["chain", store] + trusted)
        XCTAssertEqual(broken.status, 1, broken.out)
        XCTAssertTrue(broken.out.contains("BREAK missing at \(name(archives[2]))") && broken.out.contains("links to \(name(archives[1]))"), broken.out)
        let report = try pgseal(["report", store, "--json"] + trusted + verifierTrust)
        XCTAssertEqual(report.status, 1)
        XCTAssertEqual(try JSONDocument(data: report.stdout)["profiles"].array().first?["chain"]["status"].string(), "broken")
    }

    func testHostileSeriesFilesAreRefusedWithoutTrapAndShownAsText() throws {
        let database = try PostgresServer.shared().fixtureDatabase(users: 20, label: "hostile", for: self)
        let store = try TemporaryDirectory()
        let archive = try exportProfile(from: database, to: store.path)
        let directory = (archive as NSString).deletingLastPathComponent
        // A seal signed by the trusted key whose object member is markup, beside an object of that name.
        let hostileName = "kessan-user-data-20260101T000000Z.tar.zst.age"
        let seal = #"{"format":"pgseal-seal/1","object":"<script>alert(1)</script>","size":1,"sha256":"","manifest_sha256":"","created_at":"2026-01-01T00:00:00Z","profile":"kessan-user-data","encryption":"none","recipients":[],"compression":"none","snapshot":"","wal_lsn":"","tables":[],"signer":"","tool":"x"}"#
        try Data(seal.utf8).write(to: URL(fileURLWithPath: directory + "/" + hostileName + ".seal"))
        let signature = try Command.run(["ssh-keygen", "-Y", "sign", "-f", keys.file("signing-key"), "-n", "pgseal", directory + "/" + hostileName + ".seal"])
        XCTAssertEqual(signature.status, 0, signature.err)
        // Junk and oversized attestations, and one signed in the seal's namespace.
        let base = archive + ".attestation.20261201T000000Z-restore.json"
        try Data((0..<5000).map { UInt8(truncatingIfNeeded: $0 &* 131) }).write(to: URL(fileURLWithPath: base))
        try Data("junk".utf8).write(to: URL(fileURLWithPath: base + ".sig"))
        let big = archive + ".attestation.20261201T000001Z-restore.json"
        try Data(repeating: 0x20, count: 2 << 20).write(to: URL(fileURLWithPath: big))
        try Data("junk".utf8).write(to: URL(fileURLWithPath: big + ".sig"))
        let wrong = archive + ".attestation.20261201T000002Z-restore.json"
        try Data(#"{"format":"pgseal-attestation/1"}"#.utf8).write(to: URL(fileURLWithPath: wrong))
        XCTAssertEqual(try Command.run(["ssh-keygen", "-Y", "sign", "-f", verifier.file("signing-key"), "-n", "pgseal", wrong]).status, 0)
        // Signed by the trusted verifier, so that its parser is reached: 300,000 nested arrays.
        let nested = archive + ".attestation.20261201T000003Z-restore.json"
        try Data(String(repeating: "[", count: 300_000).utf8).write(to: URL(fileURLWithPath: nested))
        XCTAssertEqual(try Command.run(["ssh-keygen", "-Y", "sign", "-f", verifier.file("signing-key"), "-n", "pgseal-attestation", nested]).status, 0)
        // A second archive whose object is gone, beside a tombstone note of random bytes.
        let second = try exportProfile(from: database, to: store.path)
        try FileManager.default.removeItem(atPath: second)
        try Data((0..<700).map { UInt8(truncatingIfNeeded: $0 &* 197 &+ 11) }).write(to: URL(fileURLWithPath: second + ".tombstone"))

        let page = store.file("hostile.html")
        let report = try pgseal(["report", store.path, "--html", page, "--json"] + trusted + verifierTrust)
        XCTAssertEqual(report.status, 1, report.err)
        let profile = try XCTUnwrap(try JSONDocument(data: report.stdout)["profiles"].array().first)
        let breaks = try profile["chain"]["breaks"].array()
        XCTAssertEqual(try breaks.map { try $0["kind"].string() }.sorted(), ["object-missing", "unverifiable"])
        let missing = try XCTUnwrap(breaks.first { try $0["kind"].string() == "object-missing" })
        XCTAssertTrue(try missing["detail"].string().contains("tombstone note cannot be read"), "\(missing)")
        let records = try XCTUnwrap(try profile["archives"].keyed(by: "object")[name(archive)])["attestations"].array()
        XCTAssertEqual(records.count, 4)
        XCTAssertTrue(try records.contains { try $0["problem"].string().contains("attestation cannot be read") }, "\(records)")
        XCTAssertTrue(try records.allSatisfy { try $0["trust"].string() == "invalid" }, "\(records)")
        XCTAssertTrue(try records.contains { try $0["problem"].string().contains("namespace") }, "\(records)")
        let html = try String(contentsOfFile: page, encoding: .utf8)
        XCTAssertFalse(html.contains("<script>"), "markup from a seal reached the page as markup")
        XCTAssertTrue(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"), "the hostile name is shown as text")
        let check = try pgseal(["check", store.path, "--max-age", "1h", "--require-restore-verified-within", "35d"] + trusted + verifierTrust)
        XCTAssertEqual(check.status, 1, "no believed attestation: \(check.out)")
        XCTAssertTrue(check.out.contains("unattested"), check.out)
    }
}

extension JSONDocument {
    func typedDouble() throws -> Double {
        guard let number = value as? NSNumber else { throw TestSetupError("\(path) is not a number") }
        return number.doubleValue
    }
}
