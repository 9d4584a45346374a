import Foundation
import TestSupport
import XCTest

/// A follower in operation: its metrics while it runs (the recovery point, the slot's WAL as
/// the server reports it), and `check --max-lag`
/// over the store — current, lagging, and a newest segment whose seal was altered.
final class FollowOperationsTests: XCTestCase {
    func testMetricsWhileFollowingAndCheckMaxLag() throws {
        let setup = try FollowTests.makeSetup("operations", for: self)
        let metricsFile = setup.work.file("follow.prom")
        let service = try setup.service(["--metrics-file", metricsFile, "--segment-every", "1s"])
        defer { service.signal(SIGKILL) }
        let beforeUpdate = ISO8601DateFormatter().string(from: Date().addingTimeInterval(-1)).prefix(19)
        try setup.server.psql("UPDATE items SET note = 'watched' WHERE id < 20", database: setup.database)
        var metrics = ""
        XCTAssertTrue(waitUntil(timeout: 40) {
            metrics = (try? String(contentsOfFile: metricsFile, encoding: .utf8)) ?? ""
            return metrics.contains("pgseal_follow_changes_sealed{") && !metrics.contains("pgseal_follow_changes_sealed{profile=\"\(setup.name)\",slot=\"pgseal_\(setup.name)\"} 0")
                && metrics.contains("pgseal_slot_retained_wal_bytes")
        }, "the follower's metrics show sealed changes and its slot: \(metrics)")
        XCTAssertTrue(metrics.contains("pgseal_follow_lag_seconds{"), metrics)
        XCTAssertTrue(metrics.contains("status=\"lost\"} 0"), metrics)
        XCTAssertTrue(metrics.contains("pgseal_slot_present{profile=\"\(setup.name)\",slot=\"pgseal_\(setup.name)\"} 1"), metrics)
        service.signal(SIGTERM)
        XCTAssertEqual(service.wait().status, 0)

        // check --max-lag: current, then too old, then a newest segment whose seal was altered.
        let trusted = ["--trusted-key", setup.keys + "/allowed_signers", "--max-age", "1h"]
        let checkMetrics = setup.work.file("check.prom")
        let current = try PGSealCLI.run(["check", setup.store, "--max-lag", "1m", "--metrics-file", checkMetrics, "--json"] + trusted)
        XCTAssertEqual(current.status, 0, current.err + current.out)
        let changes = try JSONDocument(data: current.stdout)["profiles"].array()[0]["changes"]
        XCTAssertLessThan(try changes["lag_seconds"].double(), 60)
        // The newest segment may be an empty one (sealed at SIGTERM): its position is always said.
        XCTAssertNotNil(try? changes["sealed_lsn"].string(), "\(changes)")
        // Its last commit is the update's, looked up in the segment that holds it.
        let lastCommit = try changes["last_commit"].string()
        XCTAssertTrue(lastCommit.prefix(19) >= beforeUpdate && lastCommit.prefix(19) <= ISO8601DateFormatter().string(from: Date()).prefix(19),
                      "\(lastCommit) is the update's commit time (after \(beforeUpdate))")
        XCTAssertTrue(try String(contentsOfFile: checkMetrics, encoding: .utf8).contains("pgseal_changes_lag_seconds{profile=\"\(setup.name)\"}"))

        Thread.sleep(forTimeInterval: 2.2)
        let lagging = try PGSealCLI.run(["check", setup.store, "--max-lag", "2s", "--json"] + trusted)
        XCTAssertEqual(lagging.status, 1, lagging.err)
        let profile = try JSONDocument(data: lagging.stdout)["profiles"].array()[0]
        XCTAssertEqual(try profile["status"].string(), "lagging")
        XCTAssertTrue(try profile["problem"].string().contains("is pgseal follow running?"))

        let newestSeal = try FileManager.default.subpathsOfDirectory(atPath: setup.store).filter { $0.contains("/changes/") && $0.hasSuffix(".seal") }.max() ?? ""
        let path = setup.store + "/" + newestSeal
        // One byte more (a space before the last brace): the signature no longer holds.
        var altered = try String(contentsOfFile: path, encoding: .utf8)
        if let last = altered.lastIndex(of: "}") { altered.insert(" ", at: last) }
        try altered.write(toFile: path, atomically: true, encoding: .utf8)
        let failed = try PGSealCLI.run(["check", setup.store, "--max-lag", "1h", "--json"] + trusted)
        XCTAssertEqual(failed.status, 1, failed.err)
        XCTAssertEqual(try JSONDocument(data: failed.stdout)["profiles"].array()[0]["status"].string(), "failed")
    }

    /// `--metrics-listen`: the same metrics over HTTP for Prometheus, rendered at each scrape;
    /// anything but GET /metrics is 404, hostile requests are refused without stopping the
    /// endpoint or the following, an idle follower costs next to no CPU, and SIGTERM frees the port.
    func testMetricsServedOverHTTP() throws {
        let setup = try FollowTests.makeSetup("metricshttp", for: self)
        var port = 0
        var service: RunningCommand?
        for _ in 0..<3 where service == nil {
            port = Int.random(in: 20_000..<60_000)
            service = try? setup.service(["--metrics-listen", "127.0.0.1:\(port)", "--segment-every", "1s"])
        }
        let running = try XCTUnwrap(service, "the follower serves metrics on a free port")
        defer { running.signal(SIGKILL) }
        let url = "http://127.0.0.1:\(port)"
        try setup.server.psql("UPDATE items SET note = 'scraped' WHERE id < 10", database: setup.database)
        var body = ""
        XCTAssertTrue(waitUntil(timeout: 30) {
            body = (try? Command.run(["curl", "-sS", "--max-time", "5", url + "/metrics"]).out) ?? ""
            return body.contains("pgseal_follow_changes_sealed{profile=\"\(setup.name)\",slot=\"pgseal_\(setup.name)\"} 9")
        }, "a scrape shows the sealed changes: \(body)")
        XCTAssertTrue(body.contains("# TYPE pgseal_follow_lag_seconds gauge"), body)
        XCTAssertEqual(try Command.run(["curl", "-sS", "-o", "/dev/null", "-w", "%{http_code}", url + "/other"]).out, "404")
        XCTAssertEqual(try Command.run(["curl", "-sS", "-o", "/dev/null", "-w", "%{http_code}", "-X", "POST", url + "/metrics"]).out, "404")

        // Garbage, a 256 KiB header, and a connection that says nothing: refused or closed.
        let hostile = try Command.run(["python3", "-c", """
            import socket, sys
            port = int(sys.argv[1])
            answers = []
            for payload in [b"\\x00\\xff GARBAGE\\r\\n\\r\\n", b"GET /metrics HTTP/1.1\\r\\nX: " + b"a" * 262144 + b"\\r\\n\\r\\n"]:
                s = socket.create_connection(("127.0.0.1", port), timeout=10)
                try:
                    s.sendall(payload)
                except OSError:
                    pass
                try:
                    answers.append(s.recv(64).split(b"\\r\\n")[0].decode() or "closed")
                except OSError:
                    answers.append("closed")
                s.close()
            idle = socket.create_connection(("127.0.0.1", port), timeout=10)
            print(" | ".join(answers))
            """, String(port)])
        XCTAssertEqual(hostile.status, 0, hostile.err)
        XCTAssertFalse(hostile.out.contains("200"), "no hostile request is answered with metrics: \(hostile.out)")
        XCTAssertTrue(try Command.run(["curl", "-sS", "--max-time", "5", url + "/metrics"]).out.contains("pgseal_follow_segments_sealed"),
                      "the endpoint still serves after hostile requests")

        // Idle, the follower and its endpoint sleep: less than half a second of CPU in 3 s.
        let before = try cpuTicks(running.process.processIdentifier)
        Thread.sleep(forTimeInterval: 3)
        let spent = try cpuTicks(running.process.processIdentifier) - before
        XCTAssertLessThan(spent, 50, "CPU ticks (1/100 s) spent in 3 s while idle")

        running.signal(SIGTERM)
        XCTAssertEqual(running.wait().status, 0)
        XCTAssertNotEqual(try Command.run(["curl", "-sS", "--max-time", "2", url + "/metrics"]).status, 0, "the port is closed with the follower")
    }

    /// utime + stime of a process, from /proc.
    private func cpuTicks(_ pid: Int32) throws -> Int {
        let stat = try String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8)
        let fields = stat[(stat.lastIndex(of: ")") ?? stat.startIndex)...].split(separator: " ")
        guard fields.count > 13, let user = Int(fields[12]), let system = Int(fields[13]) else { throw TestSetupError("cannot read \(stat)") }
        return user + system
    }
}
