import ByteStreams
import Foundation
import Yams

/// The keys a config file may use, checked before the file is believed: a misspelled key
/// (`recipient_file:`) is an error naming the nearest valid one, never a setting silently
/// ignored.
enum ConfigKeys {
    static let topLevel = Set(ConfigFile.CodingKeys.allCases.map(\.rawValue))
    package static let profile: Set<String> = ["name", "tables"]
    static let table: Set<String> = ["table", "columns", "filter", "key", "exclude_columns"]

    /// Throws for the first key of `text` (YAML) that the format does not have.
    static func check(_ text: String, file: String) throws {
        guard let document = try Yams.load(yaml: text) else { return }
        guard let top = document as? [AnyHashable: Any] else {
            throw ConfigurationError("config file \(file): expected a mapping of settings at the top level")
        }
        try check(top, allowed: topLevel, place: "", file: file)
        for (index, profile) in (top["profiles"] as? [Any] ?? []).enumerated() {
            guard let profile = profile as? [AnyHashable: Any] else { continue }
            try check(profile, allowed: Self.profile, place: "profiles[\(index)].", file: file)
            for (tableIndex, table) in (profile["tables"] as? [Any] ?? []).enumerated() {
                guard let table = table as? [AnyHashable: Any] else { continue }
                try check(table, allowed: Self.table, place: "profiles[\(index)].tables[\(tableIndex)].", file: file)
            }
        }
    }

    private static func check(_ mapping: [AnyHashable: Any], allowed: Set<String>, place: String, file: String) throws {
        for key in mapping.keys.map({ "\($0)" }).sorted() where !allowed.contains(key) {
            let hint = nearest(key, in: allowed).map { "; did you mean \($0)?" } ?? "; valid keys here: \(allowed.sorted().joined(separator: ", "))"
            throw ConfigurationError("config file \(file): unknown key \((place + key).debugDescription)\(hint)")
        }
    }

    /// The valid key within two edits of `key` (insertions, deletions, substitutions), if one is.
    static func nearest(_ key: String, in allowed: Set<String>) -> String? {
        let limit = max(2, key.utf8.count / 4)
        var best: (key: String, distance: Int)?
        for candidate in allowed.sorted() {
            let edits = distance(Array(key.utf8), Array(candidate.utf8))
            if edits <= limit, edits < (best?.distance ?? Int.max) { best = (candidate, edits) }
        }
        return best?.key
    }

    static func distance(_ a: [UInt8], _ b: [UInt8]) -> Int {
        var previous = Array(0...b.count)
        for (i, x) in a.enumerated() {
            var current = [i + 1]
            for (j, y) in b.enumerated() {
                current.append(min(previous[j + 1] + 1, current[j] + 1, previous[j] + (x == y ? 0 : 1)))
            }
            previous = current
        }
        return previous[b.count]
    }
}
