import Foundation

/// The fault-injecting proxy (Tests/EndToEndTests/FaultProxy/fault_proxy.py) between pgseal and
/// the S3 server, for as long as this object lives.
public final class FaultProxy {
    public let endpoint: String
    private let process: RunningCommand

    /// `rate` of requests faulted (resets, 503 SlowDown, 500, truncated answers); with
    /// `partsOnly`, only UploadPart requests.
    public init(upstream: String, rate: Double, seed: Int = 1, partsOnly: Bool = false) throws {
        let portFile = NSTemporaryDirectory() + "pgseal-proxy-\(UUID().uuidString)"
        process = try Command.start(["bash", "-c", "exec python3 \"$0\" \"$1\" \"$2\" \"$3\" \"$4\" > \"$5\"",
                                     Repository.path("Tests/EndToEndTests/FaultProxy/fault_proxy.py"), upstream, String(rate), String(seed),
                                     partsOnly ? "parts-only" : "all", portFile])
        var port = ""
        _ = waitUntil(timeout: 10) {
            port = ((try? String(contentsOfFile: portFile, encoding: .utf8)) ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
            return !port.isEmpty
        }
        try? FileManager.default.removeItem(atPath: portFile)
        guard !port.isEmpty else { throw TestSetupError("the fault proxy did not start") }
        endpoint = "http://127.0.0.1:\(port)"
    }

    deinit {
        process.signal(SIGTERM)
        _ = process.wait()
    }
}
