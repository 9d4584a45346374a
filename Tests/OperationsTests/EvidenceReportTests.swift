import Archive
import Foundation
import ObjectStore
import Operations
import Seal
import Verify
import XCTest

/// The report's judgements on hand-made series, with the clock held still: where a shrink
/// becomes an anomaly, where an interval becomes a gap, when a key change shows.
final class EvidenceReportTests: XCTestCase {
    var made: HandMadeStore!
    let day: TimeInterval = 86_400

    override func setUpWithError() throws {
        made = try HandMadeStore()
    }

    func report(_ settings: EvidenceReport.Settings = EvidenceReport.Settings()) throws -> ProfileEvidence {
        var settings = settings
        settings.now = made.now
        let policy = TrustPolicy(signers: made.signers)
        let entries = try SeriesReader.read(made.store, profile: nil, policy: policy, verifiers: made.signers)
        let report = EvidenceReport.build(store: made.directory.path, profile: nil, entries: entries, policy: policy, verifiers: made.signers, settings: settings)
        return try XCTUnwrap(report.profiles.first)
    }

    func testAShrinkPastTheShareIsAnAnomalyAndOneAtItIsNot() throws {
        try made.archive(age: 4 * day, rows: ["public.a": 1000, "public.b": 1000, "public.c": 5])
        try made.archive(age: 3 * day, rows: ["public.a": 900, "public.b": 899, "public.c": 5])
        try made.archive(age: 2 * day, rows: ["public.a": 900, "public.b": 899])
        let evidence = try report()
        XCTAssertEqual(evidence.anomalies.map { "\($0.kind) \($0.table)" }, ["shrank public.b", "vanished public.c"])
        XCTAssertEqual(evidence.archives[1].changes["public.b"], -101)
    }

    func testIntervalsPastTheRPOAreGapsAndSoIsTheSilenceSinceTheLast() throws {
        for age in [9.0, 8, 7, 4, 3] { try made.archive(age: age * day) }
        let evidence = try report()
        XCTAssertEqual(evidence.schedule.expectedIntervalSeconds, day, "the median interval")
        XCTAssertEqual(evidence.schedule.rpoSeconds, 1.5 * day)
        XCTAssertEqual(evidence.gaps.map(\.hours), [72, 72])
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
}
