import Foundation

/// Names of a partitioned archive's parts (docs/FORMAT.md §10.1): the archive's key
/// `<stem><suffix>` has no object of its own; part i of n is `<stem>.part-<iiii>-of-<nnnn><suffix>`.
package enum PartNaming {
    package static func partKey(archive: String, suffix: String, index: Int, count: Int) -> String {
        let stem = archive.hasSuffix(suffix) ? String(archive.dropLast(suffix.count)) : archive
        return stem + ".part-" + fourDigits(index + 1) + "-of-" + fourDigits(count) + suffix
    }

    /// Whether `key` names a part (never counted as an archive of its own), and then the key of
    /// the archive it belongs to.
    package static func archiveKey(ofPart key: String) -> String? {
        guard let range = partInfix(of: key) else { return nil }
        return String(key[..<range.lowerBound]) + String(key[range.upperBound...])
    }

    /// `(index from 0, count)` of a part's name, when it is one.
    package static func position(ofPart key: String) -> (index: Int, count: Int)? {
        guard let range = partInfix(of: key) else { return nil }
        let digits = key[range].split(whereSeparator: { !$0.isNumber }).compactMap { Int($0) }
        guard digits.count == 2, digits[0] >= 1, digits[0] <= digits[1] else { return nil }
        return (digits[0] - 1, digits[1])
    }

    /// Where `.part-<iiii>-of-<nnnn>` stands in `key`, just before its `.tar…` suffix.
    private static func partInfix(of key: String) -> Range<String.Index>? {
        key.range(of: #"\.part-[0-9]{4}-of-[0-9]{4}(?=\.tar)"#, options: .regularExpression)
    }

    private static func fourDigits(_ n: Int) -> String {
        let digits = String(n)
        return String(repeating: "0", count: max(0, 4 - digits.count)) + digits
    }
}
