import ByteStreams
import Dispatch
import Foundation

/// The command line owns the process's signals: on SIGINT, SIGTERM or SIGHUP it runs the
/// clean-up the library registered (removing temporary files, aborting uploads, dropping scratch
/// databases) within a deadline, then exits with 128 + the signal number, as a shell reports it.
/// SIGKILL cannot be caught: what it leaves is a hidden `.partial-` file, never a final name.
enum SignalHandlers {
    /// The one registry of this process's pending clean-up, handed to every operation.
    static let cleanup = CleanupRegistry()
    /// A service's graceful stop (`pgseal follow`): once `stopGracefully` is set, the first
    /// SIGTERM or SIGINT requests it — the service finishes its unit of work and returns — and
    /// only a second one interrupts.
    static let stop = StopRequest()
    nonisolated(unsafe) static var stopGracefully = false
    /// How long the clean-up may take after a signal before the process exits anyway.
    static let cleanupDeadline: TimeInterval = 8
    nonisolated(unsafe) private static var sources: [DispatchSourceSignal] = []

    static func install() {
        for signalNumber in [SIGINT, SIGTERM, SIGHUP] {
            signal(signalNumber, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: signalNumber, queue: .global())
            source.setEventHandler { interrupted(by: signalNumber) }
            source.resume()
            sources.append(source)
        }
    }

    /// Called by the main thread before it exits on its own: when a signal arrived, the clean-up
    /// (which may have broken the work the main thread was doing) ends the process, with the
    /// signal's exit status, and this never returns.
    static func waitIfInterrupted() {
        guard cleanup.hasRun else { return }
        while true { sleep(60) }
    }

    private static func interrupted(by signalNumber: Int32) {
        if stopGracefully, signalNumber != SIGHUP, !stop.isRequested {
            FileHandle.standardError.write(Data("pgseal: signal \(signalNumber): finishing the open segment, then stopping (a second signal interrupts)\n".utf8))
            stop.request()
            return
        }
        FileHandle.standardError.write(Data("pgseal: interrupted by signal \(signalNumber); cleaning up\n".utf8))
        if !cleanup.runAll(within: cleanupDeadline) {
            FileHandle.standardError.write(Data("pgseal: the clean-up did not finish within \(Int(cleanupDeadline)) s (the network?); exiting: what it left is removed by the next run (docs/OPERATIONS.md)\n".utf8))
        }
        exit(128 + signalNumber)
    }
}
