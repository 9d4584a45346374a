import ByteStreams
import CanonicalJSON

/// The fixed set of chunk buffers that circulate between the table workers and the archive
/// writer. Its size bounds the export's memory: a worker waits for a buffer to come back
/// rather than allocate another.
final class BufferPool: @unchecked Sendable {
    private let free: BlockingQueue<ByteBuffer>

    init(buffers: Int, capacity: Int) {
        free = BlockingQueue(capacity: buffers)
        for _ in 0..<buffers { free.push(ByteBuffer(capacity: capacity)) }
    }

    func take() throws -> ByteBuffer {
        guard let buffer = free.pop() else { throw ExportError.cancelled }
        return buffer
    }

    func give(_ buffer: ByteBuffer) {
        buffer.removeAll()
        free.push(buffer)
    }

    /// Wakes and fails every waiter: the export is stopping.
    func close() { free.close() }
}
