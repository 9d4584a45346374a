import ByteStreams
import Foundation

/// Reads an object with ranged GETs of a fixed size, several in flight at once, each on its
/// own connection, handed to the reader in order. Memory is bounded by the ranges in flight
/// and ready (about 2 × concurrency × range size), however large the object.
final class S3ObjectSource: ByteSource, @unchecked Sendable {
    let size: Int64
    private let rangeSize: Int64
    private let concurrency: Int
    /// Range i arrives on queue i % concurrency, fetched by worker i % concurrency.
    private let ready: [BlockingQueue<Result<[UInt8], Error>>]
    private var nextRange = 0
    private let rangeCount: Int
    private var chunk: [UInt8] = []
    private var position = 0
    static let defaultRangeSize: Int64 = 8 << 20

    init(client: S3Client, key: String, concurrency: Int = 4, rangeSize: Int64 = defaultRangeSize) throws {
        let head = try client.request("HeadObject", method: "HEAD", key: key)
        size = Int64(head.headers["content-length"] ?? "") ?? 0
        self.rangeSize = rangeSize
        rangeCount = Int((size + rangeSize - 1) / rangeSize)
        self.concurrency = max(1, min(concurrency, rangeCount))
        ready = (0..<self.concurrency).map { _ in BlockingQueue(capacity: 1) }
        for worker in 0..<self.concurrency {
            let fetcher = try client.copy()
            let queue = ready[worker]
            let (size, rangeSize, rangeCount, stride) = (size, rangeSize, rangeCount, self.concurrency)
            let thread = Thread {
                for index in Swift.stride(from: worker, to: rangeCount, by: stride) {
                    let start = Int64(index) * rangeSize
                    let end = min(start + rangeSize, size) - 1
                    let result = Result {
                        let body = try fetcher.request("GetObject", method: "GET", key: key, headers: ["Range": "bytes=\(start)-\(end)"]).body
                        guard body.count == Int(end - start + 1) else {
                            throw StoreError.invalidLocation(key, reason: "a ranged GET of bytes \(start)-\(end) returned \(body.count) bytes")
                        }
                        return body
                    }
                    guard queue.push(result) else { return }
                    if case .failure = result { return }
                }
            }
            thread.name = "pgseal-s3-read"
            thread.start()
        }
    }

    deinit { for queue in ready { queue.close() } }

    func read(into target: UnsafeMutableRawBufferPointer) throws -> Int {
        if position == chunk.count {
            guard nextRange < rangeCount else { return 0 }
            guard let result = ready[nextRange % concurrency].pop() else { return 0 }
            chunk = try result.get()
            position = 0
            nextRange += 1
        }
        let n = min(target.count, chunk.count - position)
        chunk.withUnsafeBytes { target.copyMemory(from: UnsafeRawBufferPointer(rebasing: $0[position..<position + n])) }
        position += n
        return n
    }
}
