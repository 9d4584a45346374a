import ArchiveFormat
import ArchiveReading
import Cryptography
import EvidenceHTML
import Foundation
import Operations
import XCTest

/// The report's judgements on hand-made series, with the clock held still: where a shrink
/// becomes an anomaly, where an interval becomes a gap, when a key change shows.
final class EvidenceReportTests: XCTestCase {
    var made: HandMadeStore!
    let day: TimeInterval = 86_400

    override func setUpWithError() throws {
        made = try HandMadeStore()
    }

    func fullReport(_ settings: EvidenceReport.Settings = EvidenceReport.Settings()) throws -> EvidenceReport {
        var settings = settings
        settings.now = made.now
        let policy = TrustPolicy(signers: made.signers)
        return try EvidenceReport.build(store: made.store, named: made.directory.path, profile: nil, policy: policy, verifiers: made.signers, settings: settings)
    }

    func report(_ settings: EvidenceReport.Settings = EvidenceReport.Settings()) throws -> ProfileEvidence {
        try XCTUnwrap(try fullReport(settings).profiles.first)
    }

    /// The report's JSON as the command writes it, parsed back.
    func json(_ report: EvidenceReport) throws -> [String: Any] {
        var data = Data()
        try report.writeJSON { data.append(contentsOf: $0) }
        return try XCTUnwrap(try JSONSerialization.jsonObject(with: data) as? [String: Any])
    }

    func testAShrinkPastTheShareIsAnAnomalyAndOneAtItIsNot() throws {
        try made.archive(age: 4 * day, rows: ["public.a": 1000, "public.b": 1000, "public.c": 5])
        try made.archive(age: 3 * day, rows: ["public.a": 900, "public.b": 899, "public.c": 5])
        try made.archive(age: 2 * day, rows: ["public.a": 900, "public.b": 899])
        let evidence = try report()
        XCTAssertEqual(evidence.anomalies.map { "\($0.kind) \($0.table)" }, ["shrank public.b", "vanished public.c"])
        XCTAssertEqual(evidence.listed[1].changes["public.b"], -101)
    }

    func testIntervalsPastTheRPOAreGapsAndSoIsTheSilenceSinceTheLast() throws {
        for age in [9.0, 8, 7, 4, 3] { try made.archive(age: age * day) }
        let evidence = try report()
        XCTAssertEqual(evidence.schedule.expectedIntervalSeconds, day, "the median interval")
        XCTAssertEqual(evidence.schedule.rpoSeconds, 1.5 * day)
        XCTAssertEqual(evidence.gaps.map(\.hours), [72, 72])
        XCTAssertEqual(evidence.gaps.first?.from, StampFormat.rfc3339(made.now.addingTimeInterval(-7 * day)), "from the archive before the gap")
        XCTAssertNotNil(evidence.gaps.first?.to)
        XCTAssertNil(evidence.gaps.last?.to, "three days without an archive until now is a gap still open")
        var settings = EvidenceReport.Settings()
        settings.rpo = 4 * day
        XCTAssertTrue(try report(settings).gaps.isEmpty)
    }

    func testAKeyChangeShowsAsANewPeriod() throws {
        let rotated = try SSHSigningKey.generate(comment: "rotated")
        try made.signers.add(text: "nightly " + rotated.publicKey.line(), origin: "test")
        try made.archive(age: 3 * day)
        try made.archive(age: 2 * day)
        try made.archive(age: 1 * day, signedBy: rotated)
        let evidence = try report()
        XCTAssertEqual(evidence.signers.map(\.archives), [2, 1])
        XCTAssertEqual(evidence.signers.last?.value, [rotated.publicKey.fingerprint])
        XCTAssertTrue(evidence.findings.isEmpty, "\(evidence.findings)")
    }

    /// What stays in memory does not grow with the series: the newest archives, an even sample
    /// with every marked one, capped lists; the JSON, streamed from a spool, has every archive.
    func testALongSeriesIsSampledInMemoryAndWholeInTheJSON() throws {
        let count = 2000
        for n in 0..<count {
            // Hourly, rows growing; one shrink, at archive 1234.
            try made.archive(age: Double(count - n) * 3600, rows: ["public.t": n == 1234 ? 10 : 1000 + n])
        }
        let report = try fullReport()
        let evidence = try XCTUnwrap(report.profiles.first)
        XCTAssertEqual(evidence.archiveCount, count)
        XCTAssertEqual(evidence.listed.count, 120)
        XCTAssertLessThanOrEqual(evidence.samples.count, 2 * 800 + 2)
        XCTAssertGreaterThanOrEqual(evidence.samples.count, 800)
        let shrunk = evidence.anomalies.map(\.object)
        XCTAssertEqual(shrunk.count, 1)
        XCTAssertTrue(evidence.samples.contains { $0.object == shrunk.first }, "the anomaly's archive is in the chart's sample")
        let samples = evidence.samples.compactMap { StampFormat.date($0.createdAt) }
        XCTAssertEqual(samples, samples.sorted(), "the sample keeps time order")
        let archives = try XCTUnwrap((try json(report)["profiles"] as? [[String: Any]])?.first?["archives"] as? [[String: Any]])
        XCTAssertEqual(archives.count, count)
        XCTAssertEqual(archives.last?["object"] as? String, evidence.listed.last?.object)
    }

    /// Row counts are signed, but by an exporter that may be compromised: extremes are judged
    /// and drawn without a trap.
    func testExtremeRowCountsFromASignedSealAreReportedWithoutATrap() throws {
        try made.archive(age: 3 * day, rows: ["public.t": Int.max, "public.u": -5])
        try made.archive(age: 2 * day, rows: ["public.t": Int.min, "public.u": Int.max])
        try made.archive(age: 1 * day, rows: ["public.t": 7, "public.u": 0])
        let report = try fullReport()
        let evidence = try XCTUnwrap(report.profiles.first)
        XCTAssertNil(evidence.listed[1].changes["public.t"], "Int.min − Int.max does not fit: left out")
        XCTAssertEqual(evidence.anomalies.map(\.table), ["public.t", "public.u"])
        let page = EvidencePage.render(report)
        XCTAssertTrue(page.contains("public.t shrank from"), "the page names the anomaly")
        XCTAssertEqual(try (json(report)["profiles"] as? [[String: Any]])?.first?["archive_count"] as? Int, 3)
    }
}
