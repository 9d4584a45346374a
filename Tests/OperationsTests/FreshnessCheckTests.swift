import ArchiveReading
import Cryptography
import Foundation
@testable import Operations
import TestSupport
import XCTest

/// Freshness decisions on hand-made archives with the clock held still: on time, late,
/// missing, failed — each for the reason the check states.
final class FreshnessCheckTests: XCTestCase {
    var made: HandMadeStore!
    let hour: TimeInterval = 3600

    override func setUpWithError() throws {
        made = try HandMadeStore()
    }

    func check(maxAge: TimeInterval, profile: String? = nil) throws -> [String: FreshnessCheck.ProfileResult] {
        let result = try FreshnessCheck.run(.init(store: made.directory.path, maxAge: maxAge, profile: profile, level: .seal,
                                                  policy: TrustPolicy(signers: made.signers), keys: AgeKeyring(), now: made.now))
        return result.profiles.reduce(into: [:]) { $0[$1.profile] = $1 }
    }

    func testTheNewestSealedArchiveDecidesOnTimeOrLate() throws {
        try made.archive(age: 50 * hour)
        try made.archive(age: 25 * hour)
        XCTAssertEqual(try check(maxAge: 26 * hour)["p"]?.status, "ok")
        let late = try check(maxAge: 24 * hour)["p"]
        XCTAssertEqual(late?.status, "late")
        XCTAssertEqual(late?.ageSeconds, 25 * hour)
        XCTAssertTrue(late?.problem?.contains("is 25 h old, more than the allowed 24 h") ?? false, late?.problem ?? "")
    }

    func testAnUnsealedNewerObjectDoesNotMakeAProfileFresh() throws {
        try made.archive(age: 30 * hour)
        try made.archive(age: 1 * hour, sealed: false)
        let result = try check(maxAge: 26 * hour)["p"]
        XCTAssertEqual(result?.status, "late")
        XCTAssertEqual(result?.ageSeconds, 30 * hour)
    }

    func testAProfileWithoutASealedArchiveIsMissing() throws {
        try made.archive(age: 1 * hour, sealed: false, profile: "q")
        try made.archive(age: 1 * hour)
        let results = try check(maxAge: 26 * hour)
        XCTAssertEqual(results["q"]?.status, "missing")
        XCTAssertEqual(results["p"]?.status, "ok")
        XCTAssertEqual(try check(maxAge: 26 * hour, profile: "absent")["absent"]?.status, "missing")
    }

    func testANewestArchiveThatFailsVerificationIsFailedNotOk() throws {
        let key = try made.archive(age: 1 * hour)
        try Data("OBJECT".utf8).write(to: URL(fileURLWithPath: made.directory.file(key)))
        let result = try check(maxAge: 26 * hour)["p"]
        XCTAssertEqual(result?.status, "failed")
        XCTAssertTrue(result?.problem?.contains("SHA-256") ?? false, result?.problem ?? "")
    }

    func testDurationsAreReadAndWrittenInTheSameUnits() {
        XCTAssertEqual(FreshnessCheck.duration(45), "45 s")
        XCTAssertEqual(FreshnessCheck.duration(12 * 60), "12 min")
        XCTAssertEqual(FreshnessCheck.duration(25 * hour), "25 h")
        XCTAssertEqual(FreshnessCheck.duration(25.5 * hour), "25.5 h")
        XCTAssertEqual(FreshnessCheck.duration(80 * hour), "3.3 d")
        XCTAssertEqual(FreshnessCheck.parseDuration("26h"), 26 * hour)
        XCTAssertEqual(FreshnessCheck.parseDuration("90s"), 90)
        XCTAssertEqual(FreshnessCheck.parseDuration("7d"), 7 * 24 * hour)
        for bad in ["", "h", "0h", "-1h", "7x", "1.5.h"] { XCTAssertNil(FreshnessCheck.parseDuration(bad), bad) }
    }
}
