import ByteStreams
import Foundation

/// Names that become parts of object keys and tar entry names, checked before anything is
/// written: an archive that could not be read back, or a key outside the store, is refused.
package enum ArchiveNames {
    /// Profile and archive names name a folder of the store: letters, digits, `.`, `_`, `-`.
    package static func checkProfile(_ name: String, label: String = "profile name") throws {
        guard name.range(of: #"^[A-Za-z0-9][A-Za-z0-9._-]*$"#, options: .regularExpression) != nil, !name.contains("..") else {
            throw ConfigurationError("\(label) \(name.debugDescription): use letters, digits, '.', '_' and '-', starting with a letter or digit (it names the archive's folder)")
        }
    }

    /// Tables are told apart by name in the archive's entries and in every reader; two names
    /// that are one name once Unicode-normalised (or one table listed twice) would merge.
    package static func checkDistinct(_ names: [String]) throws {
        for (index, name) in names.enumerated() {
            if let earlier = names[..<index].first(where: { $0 == name }) {
                throw ConfigurationError(earlier.isByteEqual(to: name)
                    ? "table \(name.debugDescription) is listed twice in the profile"
                    : "tables \(earlier.debugDescription) and \(name.debugDescription) differ only in Unicode normalisation, which readers cannot keep apart; rename one")
            }
        }
    }

    /// A table's chunks are `data/<schema>.<table>/…`: a `/` would make another path, a `.` in
    /// the schema two tables one name, a control character an entry no terminal shows.
    package static func checkTable(schema: String, name: String) throws {
        let problem: String? =
            schema.contains(".") ? "its schema name contains '.', which makes schema.table ambiguous in the archive's entry names"
            : (schema + name).contains("/") ? "its name contains '/', which cannot be part of a tar entry name"
            : (schema + name).unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F }) ? "its name contains a control character"
            : nil
        if let problem {
            throw ConfigurationError("table \(schema.debugDescription).\(name.debugDescription) cannot be exported: \(problem); rename it")
        }
    }
}
