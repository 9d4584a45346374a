import Foundation

/// Work over the indices `0..<count` on a few threads of its own — the parts of a partitioned
/// archive, written or read at once — with the results in index order.
package enum ParallelIndices {
    /// Runs `work` once for every index, on at most `threads` threads, each taking the next index
    /// when it is done; returns the results in index order, or nil when they did not all come
    /// within `timeout` (the threads still running then go on to their end).
    package static func map<Result>(count: Int, threads: Int, timeout: TimeInterval? = nil,
                                   _ work: @escaping @Sendable (Int) -> Result) -> [Result]? {
        let state = State<Result>(count: count)
        let group = DispatchGroup()
        for _ in 0..<max(1, min(threads, count)) {
            group.enter()
            Thread {
                defer { group.leave() }
                while let index = state.next() { state.set(index, work(index)) }
            }.start()
        }
        if let timeout {
            guard group.wait(timeout: .now() + timeout) == .success else { return nil }
        } else {
            group.wait()
        }
        return state.all
    }

    /// The next index to hand out and the results so far, behind one lock.
    private final class State<Result>: @unchecked Sendable {
        private let lock = NSLock()
        private let count: Int
        private var handedOut = 0
        private var results: [Result?]

        init(count: Int) {
            self.count = count
            results = Array(repeating: nil, count: count)
        }

        func next() -> Int? {
            lock.withLock {
                guard handedOut < count else { return nil }
                defer { handedOut += 1 }
                return handedOut
            }
        }

        package func set(_ index: Int, _ result: Result) { lock.withLock { results[index] = result } }

        /// Every result, once all threads have ended (each index was handed out and set).
        var all: [Result]? { lock.withLock { results.contains { $0 == nil } ? nil : results.compactMap { $0 } } }
    }
}
