import Display
import Foundation

/// A table as the progress display knows it before it is read: its name and the catalog's
/// estimate of its rows (`pg_class.reltuples`; nil when the table was never analysed).
public struct ProgressTable: Sendable {
    public let name: String
    public let estimatedRows: Int?

    public init(name: String, estimatedRows: Int?) {
        self.name = name
        self.estimatedRows = estimatedRows
    }
}

/// Receives the export's progress, on the writer thread.
public protocol ExportProgress: AnyObject {
    func started(tables: [ProgressTable])
    /// A worker began reading `table` (until then it is queued).
    func tableStarted(table: String)
    func chunkWritten(table: String, rows: Int, bytes: Int)
    func tableFinished(table: String, rows: Int, bytes: Int64, seconds: Double)
    /// Called a few times a second, also while nothing arrives, to redraw.
    func tick()
    func finished()
}

/// Says nothing: for pipes, cron and `--progress never`.
public final class SilentProgress: ExportProgress {
    public init() {}
    public func started(tables: [ProgressTable]) {}
    public func tableStarted(table: String) {}
    public func chunkWritten(table: String, rows: Int, bytes: Int) {}
    public func tableFinished(table: String, rows: Int, bytes: Int64, seconds: Double) {}
    public func tick() {}
    public func finished() {}
}

/// One status line on a terminal's stderr, redrawn in place and never wider than the terminal
/// (a wider line would wrap, and every redraw would leave a line behind): elapsed time, rows
/// against the catalog's estimate with percent and ETA, throughput, the tables being read and
/// how many wait. A finished table gets a permanent line of its own.
package final class TerminalProgress: ExportProgress {
    private let start = Date()
    private var estimates: [String: Int] = [:]
    private var order: [String] = []
    private var running: [String] = []
    private var finishedTables: Set<String> = []
    private var rowsDone = 0
    /// Rows of the finished tables, at their real numbers: their estimates no longer count.
    private var rowsOfFinishedTables = 0
    private var bytesDone = 0
    private var lastDraw = Date.distantPast
    private let width: () -> Int
    private let output: (String) -> Void

    /// `width` is asked at every redraw, so that a resized terminal is followed.
    package init(width: @escaping () -> Int = { Terminal.columns() ?? 80 },
                output: @escaping (String) -> Void = { FileHandle.standardError.write(Data($0.utf8)) }) {
        self.width = width
        self.output = output
    }

    public func started(tables: [ProgressTable]) {
        order = tables.map(\.name)
        for table in tables { estimates[table.name] = table.estimatedRows }
    }

    public func tableStarted(table: String) {
        if !running.contains(table) { running.append(table) }
        draw(force: true)
    }

    public func chunkWritten(table: String, rows: Int, bytes: Int) {
        rowsDone += rows
        bytesDone += bytes
    }

    public func tableFinished(table: String, rows: Int, bytes: Int64, seconds: Double) {
        running.removeAll { $0 == table }
        finishedTables.insert(table)
        rowsOfFinishedTables += rows
        let line = "  done  \(Terminal.escaped(table)): \(Format.plural(rows, "row")), \(Format.bytes(bytes)) in \(Format.seconds(seconds))"
        emit("\r\u{1B}[K" + Self.fit(line, width: width() - 1) + "\n")
        draw(force: true)
    }

    public func tick() { draw(force: false) }

    public func finished() { emit("\r\u{1B}[K") }

    /// The status line for `width` columns: the parts in order of importance, the least
    /// important dropped first, the table list shortened last.
    func statusLine(now: Date, width: Int) -> String {
        let elapsed = max(now.timeIntervalSince(start), 0.001)
        // Estimates are the server's (pg_class.reltuples): summed without trusting them to fit.
        let estimated = order.filter { !finishedTables.contains($0) }.map { estimates[$0] ?? 0 }.saturatingSum()
        var parts = [Format.seconds(elapsed)]
        // The estimate of the tables still to read, plus what the finished ones really held;
        // never below what was already read (estimates lag behind inserts).
        let total = max([estimated, rowsOfFinishedTables].saturatingSum(), rowsDone)
        if estimated > 0 {
            let percent = min(99, Int(Double(rowsDone) / Double(max(total, 1)) * 100))
            parts.append("\(percent)% \(Format.count(rowsDone))/\(Format.count(total)) rows")
        } else {
            parts.append(Format.plural(rowsDone, "row"))
        }
        parts.append("\(Format.bytes(Int64(Double(bytesDone) / elapsed)))/s")
        if estimated > 0, rowsDone > 0, total > rowsDone {
            parts.append("ETA " + Format.seconds(elapsed * Double(total - rowsDone) / Double(rowsDone)))
        }
        let queued = order.count - running.count - finishedTables.count
        let tables = running.map(Terminal.escaped).joined(separator: ", ") + (queued > 0 ? " (+\(queued) queued)" : "")
        var line = "  " + parts.joined(separator: "  ")
        let room = width - 1 - line.count - 2
        if !tables.isEmpty, room >= 12 { line += "  " + Self.fit(tables, width: room) }
        return Self.fit(line, width: width - 1)
    }

    private func draw(force: Bool) {
        let now = Date()
        guard force || now.timeIntervalSince(lastDraw) >= 0.25 else { return }
        lastDraw = now
        emit("\r\u{1B}[K" + statusLine(now: now, width: width()))
    }

    /// `text` cut to `width` characters, the cut marked with `…`.
    static func fit(_ text: String, width: Int) -> String {
        guard text.count > width else { return text }
        return width <= 1 ? String(text.prefix(max(width, 0))) : String(text.prefix(width - 1)) + "…"
    }

    private func emit(_ text: String) { output(text) }
}
