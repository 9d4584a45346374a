import Foundation

/// Which archives of one profile to keep, by the rules people know from restic: the newest
/// `last`; the newest of each of the `daily` most recent days (and `weekly` ISO weeks,
/// `monthly` months) that have archives; everything created `within` a span of now. An archive
/// any rule keeps is kept; the others are past retention. Days, weeks and months are UTC.
public struct RetentionPolicy: Sendable, Equatable, Codable {
    public var last: Int
    public var daily: Int
    public var weekly: Int
    public var monthly: Int
    /// Seconds before now; unlike restic's `--keep-within`, counted from now, not from the
    /// newest archive, as `check --max-age` is (`last` protects the newest in any case).
    public var within: TimeInterval?

    public init(last: Int = 1, daily: Int = 0, weekly: Int = 0, monthly: Int = 0, within: TimeInterval? = nil) {
        self.last = last
        self.daily = daily
        self.weekly = weekly
        self.monthly = monthly
        self.within = within
    }

    /// Whether a rule beyond `last` is given: prune refuses to run on `last` alone by accident.
    public var hasTimeRule: Bool { daily > 0 || weekly > 0 || monthly > 0 || within != nil }

    /// For archives created at `times` (newest first), why each is kept; an empty list means
    /// past retention.
    public func reasons(for times: [Date], now: Date) -> [[String]] {
        var reasons = [[String]](repeating: [], count: times.count)
        for index in times.indices.prefix(last) { reasons[index].append("last \(last)") }
        if let within {
            for (index, time) in times.enumerated() where now.timeIntervalSince(time) <= within {
                reasons[index].append("within \(Self.span(within))")
            }
        }
        for (count, name, bucket) in [(daily, "daily", Self.day), (weekly, "weekly", Self.week), (monthly, "monthly", Self.month)] where count > 0 {
            var seen: [String] = []
            for (index, time) in times.enumerated() {
                let key = bucket(time)
                guard !seen.contains(key) else { continue }
                guard seen.count < count else { break }
                seen.append(key)
                reasons[index].append("\(name) \(key)")
            }
        }
        return reasons
    }

    static func span(_ seconds: TimeInterval) -> String {
        seconds.truncatingRemainder(dividingBy: 86_400) == 0 ? "\(Int(seconds / 86_400))d"
            : seconds.truncatingRemainder(dividingBy: 3600) == 0 ? "\(Int(seconds / 3600))h" : "\(Int(seconds))s"
    }

    private static let utc: Calendar = {
        var calendar = Calendar(identifier: .iso8601)
        calendar.timeZone = TimeZone(identifier: "UTC") ?? calendar.timeZone
        return calendar
    }()

    static func day(_ time: Date) -> String {
        let parts = utc.dateComponents([.year, .month, .day], from: time)
        return String(format: "%04d-%02d-%02d", parts.year ?? 0, parts.month ?? 0, parts.day ?? 0)
    }

    static func week(_ time: Date) -> String {
        let parts = utc.dateComponents([.yearForWeekOfYear, .weekOfYear], from: time)
        return String(format: "%04d-W%02d", parts.yearForWeekOfYear ?? 0, parts.weekOfYear ?? 0)
    }

    static func month(_ time: Date) -> String {
        let parts = utc.dateComponents([.year, .month], from: time)
        return String(format: "%04d-%02d", parts.year ?? 0, parts.month ?? 0)
    }
}
