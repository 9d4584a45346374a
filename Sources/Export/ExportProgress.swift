import Foundation

/// Receives the export's progress, on the writer thread.
public protocol ExportProgress: AnyObject {
    func started(tables: [String])
    func chunkWritten(table: String, rows: Int, bytes: Int)
    func tableFinished(table: String, rows: Int, bytes: Int64, seconds: Double)
    /// Called a few times a second, also while nothing arrives, to redraw.
    func tick()
    func finished()
}

/// Says nothing: for pipes, cron and `--progress never`.
public final class SilentProgress: ExportProgress {
    public init() {}
    public func started(tables: [String]) {}
    public func chunkWritten(table: String, rows: Int, bytes: Int) {}
    public func tableFinished(table: String, rows: Int, bytes: Int64, seconds: Double) {}
    public func tick() {}
    public func finished() {}
}

/// One status line on a terminal's stderr, redrawn in place: tables in progress with rows,
/// bytes and rate; a finished table gets a permanent line of its own.
public final class TerminalProgress: ExportProgress {
    private struct TableState {
        var rows = 0
        var bytes = 0
    }

    private let start = Date()
    private var states: [String: TableState] = [:]
    private var running: [String] = []
    private var lastDraw = Date.distantPast

    public init() {}

    public func started(tables: [String]) {
        running = tables
        for table in tables { states[table] = TableState() }
    }

    public func chunkWritten(table: String, rows: Int, bytes: Int) {
        states[table, default: TableState()].rows += rows
        states[table, default: TableState()].bytes += bytes
    }

    public func tableFinished(table: String, rows: Int, bytes: Int64, seconds: Double) {
        running.removeAll { $0 == table }
        let rate = seconds > 0 ? Double(bytes) / seconds : 0
        emit("\r\u{1B}[K  done  \(table): \(Format.count(rows)) rows, \(Format.bytes(bytes)) JSON in \(Format.seconds(seconds)) (\(Format.bytes(Int64(rate)))/s)\n")
        draw(force: true)
    }

    public func tick() { draw(force: false) }

    public func finished() { emit("\r\u{1B}[K") }

    private func draw(force: Bool) {
        let now = Date()
        guard force || now.timeIntervalSince(lastDraw) >= 0.25 else { return }
        lastDraw = now
        let elapsed = max(now.timeIntervalSince(start), 0.001)
        let parts = running.prefix(3).map { table -> String in
            let state = states[table] ?? TableState()
            return "\(table) \(Format.count(state.rows)) rows \(Format.bytes(Int64(state.bytes)))"
        }
        let total = states.values.reduce(0) { $0 + $1.bytes }
        let line = "  \(Format.seconds(elapsed)) \(Format.bytes(Int64(Double(total) / elapsed)))/s  " + parts.joined(separator: " | ")
        emit("\r\u{1B}[K" + String(line.prefix(160)))
    }

    private func emit(_ text: String) {
        FileHandle.standardError.write(Data(text.utf8))
    }
}

/// Human-readable numbers for summaries and progress.
public enum Format {
    public static func bytes(_ count: Int64) -> String {
        let units = ["B", "KiB", "MiB", "GiB", "TiB"]
        var value = Double(count)
        var unit = 0
        while value >= 1024, unit < units.count - 1 {
            value /= 1024
            unit += 1
        }
        return unit == 0 ? "\(count) B" : String(format: "%.1f ", value) + units[unit]
    }

    public static func count(_ n: Int) -> String {
        let digits = String(n)
        var out = ""
        for (i, c) in digits.enumerated() {
            if i > 0, (digits.count - i) % 3 == 0 { out.append(",") }
            out.append(c)
        }
        return out
    }

    public static func seconds(_ s: Double) -> String {
        s < 60 ? String(format: "%.1f s", s) : String(format: "%dm%02ds", Int(s) / 60, Int(s) % 60)
    }
}
