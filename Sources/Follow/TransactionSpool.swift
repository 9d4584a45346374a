import ByteStreams
import CanonicalJSON
import ChangeCapture

/// One transaction's change lines between its Begin and its Commit. A segment holds only whole
/// committed transactions, so the lines wait here: up to `memoryBytes` in memory, and past that
/// all of them in an anonymous temporary file (TMPDIR), so that a transaction larger than memory
/// costs disk, not RAM. Past `maxBytes` the follower stops with the transaction's name rather
/// than fill the disk.
final class TransactionSpool {
    let stamp: CommitStamp
    private let memoryBytes: Int
    private let maxBytes: Int64
    private let memory: ByteBuffer
    private var file: SpoolFile?
    private(set) var bytes: Int64 = 0
    private(set) var lines = 0
    private(set) var tableCounts: [String: Int] = [:]
    /// Whether the lines went to disk (for the log).
    var spilled: Bool { file != nil }

    init(stamp: CommitStamp, memoryBytes: Int, maxBytes: Int64, buffer: ByteBuffer) {
        self.stamp = stamp
        self.memoryBytes = memoryBytes
        self.maxBytes = maxBytes
        memory = buffer
        memory.removeAll()
    }

    /// Adds one change line (without its newline) of `table` (nil: a truncate).
    func add(line: ByteBuffer, table: String?) throws {
        let size = Int64(line.count) + 1
        guard bytes + size <= maxBytes else { throw SpoolError.tooLarge(xid: stamp.xid, limit: maxBytes) }
        if file == nil, memory.count + line.count + 1 > memoryBytes {
            let spool = try SpoolFile()
            try spool.write(UnsafeRawBufferPointer(start: memory.base, count: memory.count))
            memory.removeAll()
            file = spool
        }
        let bytesOfLine = UnsafeRawBufferPointer(start: line.base, count: line.count)
        if let file {
            try file.write(bytesOfLine)
            try file.write("\n")
        } else {
            memory.append(bytesOfLine)
            memory.append(UInt8(ascii: "\n"))
        }
        bytes += size
        lines += 1
        if let table { tableCounts[table, default: 0] += 1 }
    }

    /// Hands each line (without its newline) to `body`, in order, reading a spooled transaction
    /// back a block at a time.
    func drain(_ body: (UnsafeRawBufferPointer) throws -> Void) throws {
        // A line is one change: a row of values PostgreSQL holds to 1 GB each.
        let splitter = LineSplitter(maxLineBytes: Int.max / 2)
        if let file {
            try file.rewind()
            let block = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 16)
            defer { block.deallocate() }
            while true {
                let count = try file.read(into: block)
                if count == 0 { break }
                try splitter.feed(UnsafeRawBufferPointer(rebasing: block[..<count]), body)
            }
        } else {
            try splitter.feed(UnsafeRawBufferPointer(start: memory.base, count: memory.count), body)
        }
        memory.removeAll()
    }

    enum SpoolError: Error, CustomStringConvertible {
        case tooLarge(xid: UInt32, limit: Int64)

        var description: String {
            switch self {
            case .tooLarge(let xid, let limit):
                "transaction \(xid) holds more than \(limit >> 20) MiB of change lines, the most one transaction may spool to disk (--max-transaction, in MiB); nothing of it was sealed and the slot did not move past it"
            }
        }
    }
}
