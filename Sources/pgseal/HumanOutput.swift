import Display
import Foundation

/// pgseal's output for people. Names in it come from archives, seals, stores and servers, so it
/// is written as lines, each with every control character escaped (`Terminal`): no escape
/// sequence from outside reaches the terminal, and a newline inside a name shows as `\u{a}`
/// instead of forging a line of pgseal's own ("verified at level deep: …").
enum HumanOutput {
    static func out(_ lines: [String]) { write(lines, to: .standardOutput) }

    /// Summaries, notes and warnings for people, on stderr; with `--log-format json`, each a
    /// log line like the others, so that every line a log shipper reads is JSON.
    static func err(_ lines: [String]) {
        if let logger = GlobalOptions.jsonLogger {
            for line in lines { logger.notice("\(Terminal.escaped(line))") }
        } else {
            write(lines, to: .standardError)
        }
    }
    static func out(_ line: String) { out([line]) }
    static func err(_ line: String) { err([line]) }

    private static func write(_ lines: [String], to handle: FileHandle) {
        handle.write(Data(lines.map { Terminal.escaped($0) + "\n" }.joined().utf8))
    }
}

/// Rows printed as aligned columns, two spaces apart; the last column is not padded.
enum TextTable {
    static func lines(_ rows: [[String]], rightAligned: Set<Int> = []) -> [String] {
        let columns = rows.map(\.count).max() ?? 0
        let widths = (0..<columns).map { column in rows.map { column < $0.count ? Terminal.escaped($0[column]).count : 0 }.max() ?? 0 }
        return rows.map { row in
            row.enumerated().map { column, cell -> String in
                let text = Terminal.escaped(cell)
                guard column < row.count - 1 else { return text }
                let padding = String(repeating: " ", count: max(0, widths[column] - text.count))
                return rightAligned.contains(column) ? padding + text : text + padding
            }.joined(separator: "  ")
        }
    }
}
