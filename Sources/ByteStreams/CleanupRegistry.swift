import Dispatch
import Foundation

/// What to undo if the program is interrupted: temporary files to remove, multipart uploads to
/// abort, scratch databases to drop, queries to cancel. The library registers work here while
/// it is pending and removes it when done; it never installs a signal handler and never ends
/// the process. The program that owns the signals (pgseal's command line, or a service
/// embedding PGSealKit) calls `runAll(within:)` from its own handler, then decides what to do.
/// An operation given no registry leaves, when its process is killed, what SIGKILL leaves:
/// hidden `.partial-` files and incomplete uploads, which the next export removes.
public final class CleanupRegistry: @unchecked Sendable {
    private let lock = NSLock()
    private var paths: Set<String> = []
    private var actions: [Int: () -> Void] = [:]
    private var nextActionID = 0
    private var started = false

    public init() {}

    package func register(_ path: String) {
        lock.withLock { _ = paths.insert(path) }
    }

    package func unregister(_ path: String) {
        lock.withLock { _ = paths.remove(path) }
    }

    /// Registers work to do on interruption; returns a token for `removeAction`.
    package func addAction(_ action: @escaping () -> Void) -> Int {
        lock.withLock {
            nextActionID += 1
            actions[nextActionID] = action
            return nextActionID
        }
    }

    package func removeAction(_ id: Int) {
        lock.withLock { _ = actions.removeValue(forKey: id) }
    }

    /// Whether `runAll` has been called: the work it undid may have broken what was running.
    public var hasRun: Bool { lock.withLock { started } }

    /// Removes every registered file and runs every registered action, once, on a thread of
    /// its own; returns whether all finished within `seconds`. The clean-up may need the
    /// network (aborting an upload), which a partition makes hang: the caller is never held
    /// past the deadline, as a scheduler's grace period requires (Kubernetes: 30 s).
    @discardableResult
    public func runAll(within seconds: TimeInterval) -> Bool {
        let (pending, work): (Set<String>, [() -> Void]) = lock.withLock {
            guard !started else { return ([], []) }
            started = true
            defer { paths = []; actions = [:] }
            return (paths, Array(actions.values))
        }
        for path in pending { unlink(path) }
        let done = DispatchSemaphore(value: 0)
        nonisolated(unsafe) let steps = work
        let cleaner = Thread {
            for action in steps { action() }
            done.signal()
        }
        cleaner.start()
        return done.wait(timeout: .now() + seconds) == .success
    }
}
