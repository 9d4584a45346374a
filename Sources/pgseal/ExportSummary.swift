import Display
import Export
import Foundation
import PGSealKit

/// The human summary after an export, on stderr (stdout carries the archive's location).
enum ExportSummary {
    static func lines(_ result: ExportResult) -> [String] {
        var lines = ["exported profile \(result.profile) in \(Format.seconds(result.seconds)) (snapshot \(result.snapshot), WAL \(result.walLSN))"]
        let width = result.tables.map(\.table.count).max() ?? 0
        if let parts = result.parts {
            for table in result.tables {
                let name = table.table.padding(toLength: width, withPad: " ", startingAt: 0)
                lines.append("  \(name)  \(Format.count(table.rows).leftPad(12)) rows  digest \(table.digest.prefix(16))…")
            }
            lines.append("  archive \(result.archive)")
            lines.append("  \(Format.plural(parts, "part")), \(Format.bytes(result.objectBytes)) in all (\(result.compression)), one seal over them")
            return lines
        }
        for table in result.tables {
            let name = table.table.padding(toLength: width, withPad: " ", startingAt: 0)
            lines.append("  \(name)  \(Format.count(table.rows).leftPad(12)) rows  \(Format.bytes(table.bytes).leftPad(10)) JSON  \(Format.plural(table.chunks, "chunk"))  digest \(table.digest.prefix(16))…")
        }
        let json = result.tables.map(\.bytes).saturatingSum()
        let ratio = result.objectBytes > 0 ? Double(json) / Double(result.objectBytes) : 0
        lines.append("  archive \(result.archive)")
        lines.append("  \(Format.bytes(result.objectBytes)) (\(result.compression), \(String(format: "%.1f", ratio))× smaller than the JSON), sha256 \(result.objectSHA256)")
        return lines
    }
}

extension String {
    func leftPad(_ width: Int) -> String {
        count >= width ? self : String(repeating: " ", count: width - count) + self
    }
}
