import Foundation

/// The fault-injecting proxy (Tests/EndToEndTests/FaultProxy/fault_proxy.py) between pgseal and
/// the S3 server, for as long as this object lives.
public final class FaultProxy {
    /// What the proxy may do to a request (see fault_proxy.py).
    public enum Fault: String, CaseIterable, Sendable {
        case reset, slowdown, `internal`, truncate
        case corruptBody = "corrupt-body", corruptETag = "corrupt-etag", corruptRead = "corrupt-read"
        /// The faults that a retry must carry an operation through.
        public static let transient: [Fault] = [.reset, .slowdown, .internal, .truncate]
    }

    /// Which requests may be faulted: all, UploadPart only, ranged GETs, or ranged GETs of
    /// archives (not of their sidecars).
    public enum Selection: String, Sendable { case all, parts, reads, objectReads = "object-reads" }

    private let server: LoopbackServer
    private let tls: Bool
    public let seed: Int
    public var endpoint: String { tls ? "https://127.0.0.1:\(server.port)" : server.url }

    /// A `rate` of the selected requests faulted, the kind rotating through `faults`; decisions
    /// follow from `seed` alone (printed, so that a failure can be replayed). With `expiryLog`
    /// (the credential server's log), credentials older than `refuseAfter` seconds are refused
    /// with ExpiredToken. Every request waits `delay` seconds first. With `tls` (certificate and key PEM files), the proxy speaks HTTPS.
    public init(upstream: String, rate: Double, seed: Int, only: Selection = .all, faults: [Fault] = Fault.transient,
                expiryLog: String? = nil, refuseAfter: Double = 0, delay: Double = 0, tls: (cert: String, key: String)? = nil) throws {
        self.tls = tls != nil
        self.seed = seed
        var arguments = [upstream, "--rate", String(rate), "--seed", String(seed), "--only", only.rawValue,
                         "--kinds", faults.map(\.rawValue).joined(separator: ",")]
        if let expiryLog { arguments += ["--expiry-log", expiryLog, "--refuse-after", String(refuseAfter)] }
        if delay > 0 { arguments += ["--delay", String(delay)] }
        print("fault proxy: seed \(seed), rate \(rate), \(only.rawValue) requests, faults \(faults.map(\.rawValue))")
        server = try LoopbackServer(script: "Tests/EndToEndTests/FaultProxy/fault_proxy.py", arguments: arguments,
                                    environment: tls.map { ["FAULT_PROXY_TLS": "\($0.cert):\($0.key)"] } ?? [:])
    }

    /// What the proxy did so far: "requests", "faults", "expired" and one count per fault kind.
    public func counts() throws -> [String: Int] {
        let result = try Command.run(["curl", "-sS", "-k", endpoint + "/__proxy/counts"])
        guard result.status == 0, let counts = try? JSONDecoder().decode([String: Int].self, from: result.stdout) else {
            throw TestSetupError("the fault proxy did not report its counts: \(result.err)")
        }
        return counts
    }
}
