import Foundation

/// A service started at most once per test run (the first test that asks starts it) and stopped
/// when the process exits; a failure to start is remembered and given to every asker.
final class SharedService<Service>: @unchecked Sendable {
    private let lock = NSLock()
    private var started: Result<Service, Error>?
    private let start: () throws -> Service
    private let stop: (Service) -> Void

    init(start: @escaping () throws -> Service, stop: @escaping (Service) -> Void) {
        self.start = start
        self.stop = stop
    }

    func get() throws -> Service {
        try lock.withLock {
            if let started { return try started.get() }
            let result = Result { try start() }
            started = result
            if case .success(let service) = result {
                ServiceShutdown.register { [stop] in stop(service) }
            }
            return try result.get()
        }
    }
}

/// What runs when the test process exits (atexit takes no closure with context).
enum ServiceShutdown {
    nonisolated(unsafe) private static var actions: [() -> Void] = []
    private static let lock = NSLock()
    private static let installed: Void = { atexit { ServiceShutdown.runAll() } }()

    static func register(_ action: @escaping () -> Void) {
        _ = installed
        lock.withLock { actions.append(action) }
    }

    private static func runAll() {
        for action in lock.withLock({ actions }) { action() }
    }
}
