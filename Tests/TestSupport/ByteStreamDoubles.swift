import ByteStreams
import Foundation

/// In-memory and file-backed streams for tests of the pipeline's stages.
public final class MemorySink: ByteSink {
    public var bytes: [UInt8] = []
    public var closed = false
    public init() {}
    public func write(_ data: UnsafeRawBufferPointer) throws { bytes.append(contentsOf: data) }
    public func close() throws { closed = true }
}

public final class MemorySource: ByteSource {
    let bytes: [UInt8]
    var offset = 0
    public init(_ bytes: [UInt8]) { self.bytes = bytes }
    public func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        let n = min(buffer.count, bytes.count - offset)
        buffer.copyBytes(from: bytes[offset..<offset + n])
        offset += n
        return n
    }
}

public final class TestFileSink: ByteSink {
    let handle: FileHandle
    public init(path: String) throws {
        FileManager.default.createFile(atPath: path, contents: nil)
        handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
    }
    public func write(_ bytes: UnsafeRawBufferPointer) throws { handle.write(Data(bytes)) }
    public func close() throws { try handle.close() }
}

public final class TestFileSource: ByteSource {
    let handle: FileHandle
    public init(path: String) throws { handle = try FileHandle(forReadingFrom: URL(fileURLWithPath: path)) }
    public func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        let data = try handle.read(upToCount: buffer.count) ?? Data()
        data.copyBytes(to: buffer)
        return data.count
    }
}
