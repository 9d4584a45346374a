import Foundation

/// `--report F` and `--json`: a command's result as pretty JSON with sorted keys.
enum ReportFile {
    static func encode(_ value: some Encodable) throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return try encoder.encode(value)
    }

    static func json(_ value: some Encodable) throws -> String { String(decoding: try encode(value), as: UTF8.self) }

    /// Writes the JSON atomically.
    static func write(_ value: some Encodable, to path: String) throws {
        var data = try encode(value)
        data.append(0x0a)
        try data.write(to: URL(fileURLWithPath: path), options: .atomic)
    }
}
