import Foundation

/// A helper server of the tests (a Python script that prints the port it listens on, then
/// serves on 127.0.0.1) for as long as this object lives.
public final class LoopbackServer {
    public let port: String
    private let process: RunningCommand

    public init(script: String, arguments: [String], environment: [String: String] = [:]) throws {
        let portFile = NSTemporaryDirectory() + "pgseal-port-\(UUID().uuidString)"
        process = try Command.start(["bash", "-c", "exec python3 \"$@\" > \"$0\"", portFile, Repository.path(script)] + arguments,
                                    environment: environment)
        var port = ""
        _ = waitUntil(timeout: 20) {
            port = ((try? String(contentsOfFile: portFile, encoding: .utf8)) ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
            return !port.isEmpty
        }
        try? FileManager.default.removeItem(atPath: portFile)
        guard !port.isEmpty else {
            process.signal(SIGTERM)
            throw TestSetupError("\(script) did not start: \(process.wait().err)")
        }
        self.port = port
    }

    public var url: String { "http://127.0.0.1:\(port)" }

    deinit {
        process.signal(SIGTERM)
        _ = process.wait()
    }
}
