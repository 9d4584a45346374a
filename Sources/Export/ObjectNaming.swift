import Foundation

/// Names of archive objects: `<profile>/<YYYY>/<MM>/<DD>/<profile>-<YYYYMMDDTHHMMSSZ>.tar.zst[.age]`
/// under the store's prefix, so that listing a day or a profile is a prefix listing and names
/// sort by time.
public struct ObjectNaming {
    public let profile: String
    public let time: Date

    public init(profile: String, time: Date) {
        self.profile = profile
        self.time = time
    }

    private func format(_ pattern: String) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = pattern
        return formatter.string(from: time)
    }

    /// RFC 3339 UTC, as `created_at` records it.
    public var createdAt: String { format("yyyy-MM-dd'T'HH:mm:ss'Z'") }

    public func objectKey(extension suffix: String) -> String {
        "\(profile)/\(format("yyyy/MM/dd"))/\(profile)-\(format("yyyyMMdd'T'HHmmss'Z'"))\(suffix)"
    }
}
