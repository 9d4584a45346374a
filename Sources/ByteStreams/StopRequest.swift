import Foundation

/// A request to finish what is under way and stop — a long-running service's SIGTERM, as
/// opposed to an interruption (`CleanupRegistry`), which undoes it. The owner of the signals
/// calls `request()`; the service checks `isRequested` between units of work.
public final class StopRequest: @unchecked Sendable {
    private let lock = NSLock()
    private var requested = false

    public init() {}

    public func request() { lock.withLock { requested = true } }

    public var isRequested: Bool { lock.withLock { requested } }
}
