import ByteStreams
import Display
import Foundation
import Logging

/// How far S3's clock is from this machine's, as the AWS SDKs learn it: a request refused with
/// `RequestTimeTooSkewed` carries the server's `Date`; requests are then signed with this
/// machine's time plus the offset, and the refused one is sent again. Bounded: an offset past a
/// day is not believed (a `Date` header that far off is a broken or hostile answer), and each
/// offset is learnt once, so a server that keeps refusing ends the request.
final class ClockOffset: @unchecked Sendable {
    static let limit: TimeInterval = 24 * 3600
    private let offset = Locked<TimeInterval>(0)
    private let logger = Logger(label: "pgseal.s3")

    var seconds: TimeInterval { offset.withLock { $0 } }

    /// Learns the offset from a refusal's `Date` header; true when the request should be sent
    /// again with it.
    func correct(serverDate header: String?) -> Bool {
        guard let header, let server = Self.httpDate(header) else { return false }
        let learnt = server.timeIntervalSinceNow
        guard abs(learnt) <= Self.limit else {
            logger.error("S3 says this machine's clock is off, but its Date header (\(Terminal.escaped(String(header.prefix(64))))) is more than a day away: not believed")
            return false
        }
        let changed = offset.withLock { current -> Bool in
            guard abs(current - learnt) > 1 else { return false }
            current = learnt
            return true
        }
        if changed {
            logger.warning("this machine's clock is \(String(format: "%+.0f", -learnt)) s off S3's: signing with S3's time from now on; synchronise the clock (NTP)")
        }
        return changed
    }

    /// An HTTP date (RFC 7231 IMF-fixdate: `Fri, 04 Dec 2026 16:30:54 GMT`).
    static func httpDate(_ text: String) -> Date? {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "GMT")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss zzz"
        return formatter.date(from: text)
    }
}
