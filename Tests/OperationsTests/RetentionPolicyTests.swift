import Foundation
@testable import Operations
import XCTest

/// restic's rules, one archive series with the clock held still (UTC).
final class RetentionPolicyTests: XCTestCase {
    func date(_ text: String) -> Date { ISO8601DateFormatter().date(from: text) ?? .distantPast }
    lazy var now = date("2026-12-02T12:00:00Z")
    lazy var times = ["2026-12-02T10:00:00Z", "2026-12-02T02:00:00Z", "2026-12-01T02:00:00Z", "2026-11-30T02:00:00Z",
                      "2026-11-23T02:00:00Z", "2026-10-31T02:00:00Z", "2026-09-30T02:00:00Z"].map(date)

    func kept(_ policy: RetentionPolicy) -> [Int] {
        policy.reasons(for: times, now: now).enumerated().filter { !$0.element.isEmpty }.map(\.offset)
    }

    func testEachRuleKeepsWhatResticWould() {
        XCTAssertEqual(kept(RetentionPolicy(last: 2)), [0, 1])
        XCTAssertEqual(kept(RetentionPolicy(last: 1, daily: 3)), [0, 2, 3], "the newest of each of the three most recent days")
        XCTAssertEqual(kept(RetentionPolicy(last: 1, weekly: 2)), [0, 4], "ISO weeks 2026-W49 (Mon 30 Nov – Sun 6 Dec) and W48")
        XCTAssertEqual(kept(RetentionPolicy(last: 1, monthly: 3)), [0, 3, 5], "December, November, October")
        XCTAssertEqual(kept(RetentionPolicy(last: 1, within: 2 * 86_400)), [0, 1, 2], "within 48 h of now")
        XCTAssertEqual(kept(RetentionPolicy(last: 1, daily: 1, monthly: 12)), [0, 3, 5, 6])
    }

    func testReasonsNameEveryRuleThatKeeps() {
        let reasons = RetentionPolicy(last: 1, daily: 2, weekly: 1, monthly: 1, within: 86_400).reasons(for: times, now: now)
        XCTAssertEqual(reasons[0], ["last 1", "within 1d", "daily 2026-12-02", "weekly 2026-W49", "monthly 2026-12"])
        XCTAssertEqual(reasons[2], ["daily 2026-12-01"])
        XCTAssertEqual(reasons[6], [])
    }

    func testOnlyKeepLastIsNotARetention() {
        XCTAssertFalse(RetentionPolicy(last: 5).hasTimeRule)
        XCTAssertTrue(RetentionPolicy(last: 1, within: 60).hasTimeRule)
    }
}
