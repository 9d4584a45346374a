import ArchiveFormat
import Foundation

/// `--report F` and `--json`: a command's result as pretty JSON with sorted keys, and the
/// `tool` that wrote it (`pgseal 0.3.0`), so that a report kept for an auditor says which
/// release made it.
enum ReportFile {
    static func encode(_ value: some Encodable) throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return try encoder.encode(Stamped(value: value))
    }

    static func json(_ value: some Encodable) throws -> String { String(decoding: try encode(value), as: UTF8.self) }

    /// Writes the JSON atomically.
    static func write(_ value: some Encodable, to path: String) throws {
        var data = try encode(value)
        data.append(0x0a)
        try data.write(to: URL(fileURLWithPath: path), options: .atomic)
    }

    /// The value's own members, and `tool` beside them.
    private struct Stamped<Value: Encodable>: Encodable {
        let value: Value

        private struct Key: CodingKey {
            var stringValue: String
            var intValue: Int? { nil }
            init(stringValue: String) { self.stringValue = stringValue }
            init?(intValue: Int) { nil }
        }

        func encode(to encoder: Encoder) throws {
            try value.encode(to: encoder)
            var container = encoder.container(keyedBy: Key.self)
            try container.encode("pgseal \(PGSealVersion.current)", forKey: Key(stringValue: "tool"))
        }
    }
}
