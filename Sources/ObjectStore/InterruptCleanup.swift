import Dispatch
import Foundation

/// Removes temporary files when the process is interrupted (SIGINT, SIGTERM, SIGHUP), so that
/// an interrupted export leaves nothing behind; then exits with 128 + the signal number, as a
/// shell would report it. SIGKILL cannot be caught: what it leaves is a hidden `.partial-`
/// file, never a file under a final name.
package final class InterruptCleanup: @unchecked Sendable {
    package static let shared = InterruptCleanup()
    /// How long the clean-up may take after a signal before the process exits anyway.
    package static let cleanupDeadline: TimeInterval = 8

    private let lock = NSLock()
    private var paths: Set<String> = []
    private var actions: [Int: () -> Void] = [:]
    private var nextActionID = 0
    private var sources: [DispatchSourceSignal] = []
    private var signalled = false

    private init() {
        for signalNumber in [SIGINT, SIGTERM, SIGHUP] {
            signal(signalNumber, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: signalNumber, queue: .global())
            source.setEventHandler { [unowned self] in self.interrupted(by: signalNumber) }
            source.resume()
            sources.append(source)
        }
    }

    package func register(_ path: String) {
        lock.withLock { _ = paths.insert(path) }
    }

    package func unregister(_ path: String) {
        lock.withLock { _ = paths.remove(path) }
    }

    /// Registers work to do on interruption (aborting an upload, dropping a scratch
    /// database); returns a token for `removeAction`.
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

    /// Called by the main thread before it exits on its own: when a signal arrived, the clean-up
    /// (which may have broken the work the main thread was doing) ends the process, with the
    /// signal's exit status, and this never returns.
    package func waitIfInterrupted() {
        guard lock.withLock({ signalled }) else { return }
        while true { sleep(60) }
    }

    private func interrupted(by signalNumber: Int32) {
        let (pending, work) = lock.withLock {
            signalled = true
            return (paths, Array(actions.values))
        }
        FileHandle.standardError.write(Data("pgseal: interrupted by signal \(signalNumber); cleaning up\n".utf8))
        for path in pending { unlink(path) }
        // The clean-up may need the network (aborting an upload, cancelling a query), which a
        // partition makes hang: the process ends within the deadline whatever it does, as a
        // scheduler's grace period requires (Kubernetes: 30 s by default).
        let done = DispatchSemaphore(value: 0)
        nonisolated(unsafe) let steps = work
        let cleaner = Thread {
            for action in steps { action() }
            done.signal()
        }
        cleaner.start()
        if done.wait(timeout: .now() + Self.cleanupDeadline) == .timedOut {
            FileHandle.standardError.write(Data("pgseal: the clean-up did not finish within \(Int(Self.cleanupDeadline)) s (the network?); exiting: what it left is removed by the next run (docs/OPERATIONS.md)\n".utf8))
        }
        exit(128 + signalNumber)
    }
}
