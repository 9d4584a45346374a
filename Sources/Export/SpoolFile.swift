import ByteStreams
import Foundation

/// An anonymous temporary file (`tmpfile(3)`: already unlinked, gone when closed) for the
/// manifest's metadata, so that no list that grows with the data is held in memory.
final class SpoolFile: ByteSource {
    private let file: UnsafeMutablePointer<FILE>
    private(set) var size = 0

    init() throws {
        guard let file = tmpfile() else {
            throw ExportError.temporaryFile(operation: "creating", errno: errno)
        }
        self.file = file
    }

    deinit { fclose(file) }

    func write(_ bytes: UnsafeRawBufferPointer) throws {
        guard !bytes.isEmpty else { return }
        guard fwrite(bytes.baseAddress, 1, bytes.count, file) == bytes.count else {
            throw ExportError.temporaryFile(operation: "writing", errno: errno)
        }
        size += bytes.count
    }

    func write(_ string: String) throws {
        var string = string
        try string.withUTF8 { try write(UnsafeRawBufferPointer($0)) }
    }

    /// Moves back to the start for reading.
    func rewind() throws {
        guard fflush(file) == 0, fseek(file, 0, SEEK_SET) == 0 else {
            throw ExportError.temporaryFile(operation: "rewinding", errno: errno)
        }
    }

    func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        let n = fread(buffer.baseAddress, 1, buffer.count, file)
        if n == 0, ferror(file) != 0 {
            throw ExportError.temporaryFile(operation: "reading", errno: errno)
        }
        return n
    }
}
