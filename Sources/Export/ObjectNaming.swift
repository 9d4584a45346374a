import ArchiveFormat
import Foundation

/// Names of archive objects: `<profile>/<YYYY>/<MM>/<DD>/<profile>-<YYYYMMDDTHHMMSSZ>-<tag>.tar.zst[.age]`
/// under the store's prefix, so that listing a day or a profile is a prefix listing and names
/// sort by time. The tag (8 random hex digits) keeps two exports of one profile in the same
/// second from taking one name, where the second would replace the first in a bucket; the
/// store's no-replace writes (S3's `If-None-Match: *`, link(2)) catch what chance leaves.
package struct ObjectNaming {
    package let profile: String
    package let time: Date
    package let tag: String

    package init(profile: String, time: Date, tag: String = ObjectNaming.randomTag()) {
        self.profile = profile
        self.time = time
        self.tag = tag
    }

    package static func randomTag() -> String {
        let value = UInt32.random(in: 0...UInt32.max)
        let hex = String(value, radix: 16)
        return String(repeating: "0", count: 8 - hex.count) + hex
    }

    private func format(_ pattern: String) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = pattern
        return formatter.string(from: time)
    }

    /// RFC 3339 UTC, as `created_at` records it.
    package var createdAt: String { format("yyyy-MM-dd'T'HH:mm:ss'Z'") }

    /// A change segment's key (docs/FORMAT.md §11): in the profile's `changes/` folder, and
    /// numbered instead of tagged, so that a chain's segments sort in order within a second.
    package func segmentKey(sequence: Int, extension suffix: String) -> String {
        let digits = String(sequence)
        let number = String(repeating: "0", count: max(0, 10 - digits.count)) + digits
        return "\(SegmentNaming.prefix(profile: profile))\(format("yyyy/MM/dd"))/\(profile)-\(format("yyyyMMdd'T'HHmmss'Z'"))-\(number)\(suffix)"
    }

    package func objectKey(extension suffix: String) -> String {
        "\(profile)/\(format("yyyy/MM/dd"))/\(profile)-\(format("yyyyMMdd'T'HHmmss'Z'"))-\(tag)\(suffix)"
    }
}
