import ByteStreams
import Foundation
import XCTest

/// The helper that writes and reads a partitioned archive's parts a few at a time.
final class ParallelIndicesTests: XCTestCase {
    func testEveryIndexOnceInOrderOnAtMostTheThreadsGiven() {
        let lock = NSLock()
        nonisolated(unsafe) var running = 0
        nonisolated(unsafe) var most = 0
        let results = ParallelIndices.map(count: 40, threads: 3) { index -> Int in
            lock.withLock { running += 1; most = max(most, running) }
            Thread.sleep(forTimeInterval: 0.002)
            lock.withLock { running -= 1 }
            return index * index
        }
        XCTAssertEqual(results, (0..<40).map { $0 * $0 })
        XCTAssertLessThanOrEqual(most, 3)
        XCTAssertGreaterThan(most, 1, "the work ran on more than one thread")
        XCTAssertEqual(ParallelIndices.map(count: 0, threads: 4) { $0 }, [])
    }

    func testWorkThatDoesNotEndInTimeGivesNoResults() {
        let gate = DispatchSemaphore(value: 0)
        let results = ParallelIndices.map(count: 2, threads: 2, timeout: 0.2) { index -> Int in
            if index == 1 { gate.wait() }
            return index
        }
        XCTAssertNil(results)
        gate.signal()
    }
}
