import Foundation
import TestSupport
import XCTest

/// The progress line as a person sees it: in a real terminal (tmux) of 80 columns, one line
/// redrawn in place, never wider than the terminal, with percent and ETA from the catalog's
/// estimates, and nothing of it left behind.
final class ProgressTests: XCTestCase {
    func testTheProgressLineFitsEightyColumnsAndRedrawsInPlace() throws {
        let server = try PostgresServer.shared()
        let database = try PostgresServer.bigDatabase()
        let view = "a_view_with_a_name_long_enough_to_overflow_an_eighty_column_line_\(UUID().uuidString.prefix(6).lowercased())"
        try server.psql("ANALYZE big; CREATE VIEW \(view) AS SELECT * FROM big", database: database)
        addTeardownBlock { _ = try? server.psql("DROP VIEW IF EXISTS \(view)", database: database) }
        let store = try TemporaryDirectory()
        try ExportedTable.config(profile: "wide", tables: [ExportedTable("public.big"), ExportedTable("public.\(view)", key: ["id"])],
                                 at: store.file("wide.yaml"))
        let session = "pgseal-progress-\(UUID().uuidString.prefix(8))"
        let command = [Repository.pgsealBinary, "export", "--db", server.url(database: database), "--to", store.file("out"), "--no-encrypt", "--no-sign",
                       "--config", store.file("wide.yaml"), "--profile", "wide", "--progress", "always", "--compression", "none"]
            .map { "'" + $0 + "'" }.joined(separator: " ") + "; echo EXIT:$?; sleep 60"
        let started = try Command.runLeavingDaemon(["tmux", "new-session", "-d", "-s", session, "-x", "80", "-y", "30", command])
        XCTAssertEqual(started.status, 0, "tmux could not start: \(started.err)")
        addTeardownBlock { _ = try? Command.run(["tmux", "kill-session", "-t", session]) }
        func pane() throws -> [String] {
            // -J joins lines the terminal wrapped: a line wider than the pane is seen whole.
            let captured = try Command.run(["tmux", "capture-pane", "-p", "-J", "-t", session, "-S", "-500"])
            guard captured.status == 0 else { throw TestSetupError("tmux capture-pane failed: \(captured.err)") }
            return captured.out.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        }
        // While it runs: one status line, percent and ETA in it, within 80 columns.
        var during: [String] = []
        let sawStatus = try waitUntil(timeout: 60) {
            during = try pane().filter { $0.contains("% ") && $0.contains("ETA") }
            return !during.isEmpty
        }
        XCTAssertTrue(sawStatus, "no status line with percent and ETA appeared: \((try? pane()) ?? [])")
        XCTAssertEqual(during.count, 1, "the status line must be redrawn in place: \(during)")
        for line in during { XCTAssertLessThanOrEqual(line.count, 80, "a status line wider than the terminal: \(line)") }
        let finished = try waitUntil(timeout: 120) { try pane().contains { $0.hasPrefix("EXIT:") } }
        XCTAssertTrue(finished, "the export did not finish: \((try? pane()) ?? [])")
        let lines = try pane()
        XCTAssertTrue(lines.contains("EXIT:0"), lines.joined(separator: "\n"))
        // The progress output — the status line, each table's "done" line — fits the terminal;
        // the summary after it (paths, digests) may wrap, as any long path does.
        for line in lines where line.hasPrefix("  done  ") { XCTAssertLessThanOrEqual(line.count, 80, "wider than the terminal: \(line)") }
        XCTAssertEqual(lines.filter { $0.contains("ETA") }.count, 0, "status lines were left behind: \(lines.joined(separator: "\n"))")
        XCTAssertEqual(lines.filter { $0.hasPrefix("  done  ") }.count, 2, lines.joined(separator: "\n"))
        XCTAssertTrue(lines.contains { $0.hasPrefix("  done  public.big: 400,000 rows") }, lines.joined(separator: "\n"))
    }
}
