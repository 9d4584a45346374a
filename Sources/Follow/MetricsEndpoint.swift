import NIOCore
import NIOHTTP1
import NIOPosix

/// `pgseal follow --metrics-listen HOST:PORT`: the follower's metrics served at `GET /metrics`
/// for Prometheus to scrape, on one event-loop thread of its own beside the following — the
/// exposition is rendered at each scrape, so the lag it shows is the lag then. Anything else is
/// 404; a request's head is bounded by NIO's HTTP parser, and a connection idle for 30 s closes.
public final class MetricsEndpoint: Sendable {
    private let group: MultiThreadedEventLoopGroup
    private let channel: Channel
    /// The port bound (the one asked for, or the one the system chose for port 0).
    public let port: Int

    public init(host: String, port: Int, metrics: FollowMetrics) throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let bootstrap = ServerBootstrap(group: group)
            .serverChannelOption(ChannelOptions.backlog, value: 32)
            .serverChannelOption(ChannelOptions.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(IdleStateHandler(allTimeout: .seconds(30)))
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline(withErrorHandling: true)
                    try channel.pipeline.syncOperations.addHandler(MetricsHandler(metrics: metrics))
                }
            }
        do {
            channel = try bootstrap.bind(host: host, port: port).wait()
        } catch {
            try? group.syncShutdownGracefully()
            throw MetricsEndpointError(address: "\(host):\(port)", reason: "\(error)")
        }
        self.group = group
        self.port = channel.localAddress?.port ?? port
    }

    /// Stops listening and ends the event loop's thread.
    public func close() {
        try? channel.close().wait()
        try? group.syncShutdownGracefully()
    }
}

public struct MetricsEndpointError: Error, CustomStringConvertible {
    let address: String
    let reason: String
    public var description: String { "cannot serve metrics at \(address): \(reason) (--metrics-listen HOST:PORT, a free port)" }
}

/// One HTTP/1.1 connection: each complete request answered in turn.
final class MetricsHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private let metrics: FollowMetrics
    private var head: HTTPRequestHead?

    init(metrics: FollowMetrics) {
        self.metrics = metrics
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let request): head = request
        case .body: break  // no request has a body worth reading: discarded as it comes
        case .end:
            guard let request = head else { return }
            head = nil
            respond(to: request, context: context)
        }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is IdleStateHandler.IdleStateEvent { context.close(promise: nil) } else { context.fireUserInboundEventTriggered(event) }
    }

    private func respond(to request: HTTPRequestHead, context: ChannelHandlerContext) {
        let path = request.uri.split(separator: "?", maxSplits: 1).first.map(String.init) ?? request.uri
        let served = (request.method == .GET || request.method == .HEAD) && path == "/metrics"
        let body = served ? metrics.exposition() : "pgseal follow serves GET /metrics only\n"
        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: served ? "text/plain; version=0.0.4; charset=utf-8" : "text/plain; charset=utf-8")
        headers.add(name: "Content-Length", value: String(body.utf8.count))
        if !request.isKeepAlive { headers.add(name: "Connection", value: "close") }
        context.write(wrapOutboundOut(.head(HTTPResponseHead(version: request.version, status: served ? .ok : .notFound, headers: headers))), promise: nil)
        if request.method != .HEAD {
            var buffer = context.channel.allocator.buffer(capacity: body.utf8.count)
            buffer.writeString(body)
            context.write(wrapOutboundOut(.body(.byteBuffer(buffer))), promise: nil)
        }
        let channel = context.channel
        let keepAlive = request.isKeepAlive
        context.writeAndFlush(wrapOutboundOut(.end(nil))).whenComplete { _ in
            if !keepAlive { channel.close(promise: nil) }
        }
    }
}
