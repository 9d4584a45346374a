import Foundation

/// The fault-injecting proxy (Tests/EndToEndTests/FaultProxy/fault_proxy.py) between pgseal and
/// the S3 server, for as long as this object lives.
public final class FaultProxy {
    private let server: LoopbackServer
    private let tls: Bool
    public var endpoint: String { tls ? "https://127.0.0.1:\(server.port)" : server.url }

    /// `rate` of requests faulted (resets, 503 SlowDown, 500, truncated answers); with
    /// `partsOnly`, only UploadPart requests. With `tls` (certificate and key PEM files), the
    /// proxy speaks HTTPS.
    public init(upstream: String, rate: Double, seed: Int = 1, partsOnly: Bool = false, tls: (cert: String, key: String)? = nil) throws {
        self.tls = tls != nil
        server = try LoopbackServer(script: "Tests/EndToEndTests/FaultProxy/fault_proxy.py",
                                    arguments: [upstream, String(rate), String(seed), partsOnly ? "parts-only" : "all"],
                                    environment: tls.map { ["FAULT_PROXY_TLS": "\($0.cert):\($0.key)"] } ?? [:])
    }
}
