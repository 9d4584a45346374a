import Foundation

/// An anonymous temporary file (`tmpfile(3)`: already unlinked, gone when closed) for the
/// manifest's metadata and the report's list of archives, so that no list that grows with the
/// data is held in memory.
package final class SpoolFile: ByteSource {
    private let file: UnsafeMutablePointer<FILE>
    package private(set) var size = 0

    package init() throws {
        guard let file = tmpfile() else {
            throw SpoolFileError(operation: "creating", errno: errno)
        }
        self.file = file
    }

    deinit { fclose(file) }

    package func write(_ bytes: UnsafeRawBufferPointer) throws {
        guard !bytes.isEmpty else { return }
        guard fwrite(bytes.baseAddress, 1, bytes.count, file) == bytes.count else {
            throw SpoolFileError(operation: "writing", errno: errno)
        }
        size += bytes.count
    }

    package func write(_ string: String) throws {
        var string = string
        try string.withUTF8 { try write(UnsafeRawBufferPointer($0)) }
    }

    /// Moves back to the start for reading.
    package func rewind() throws {
        guard fflush(file) == 0, fseek(file, 0, SEEK_SET) == 0 else {
            throw SpoolFileError(operation: "rewinding", errno: errno)
        }
    }

    package func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        let n = fread(buffer.baseAddress, 1, buffer.count, file)
        if n == 0, ferror(file) != 0 {
            throw SpoolFileError(operation: "reading", errno: errno)
        }
        return n
    }
}

/// A spool file could not be used: most often a full or missing `TMPDIR`.
package struct SpoolFileError: Error, CustomStringConvertible {
    package let operation: String
    package let errno: Int32

    package var description: String {
        "\(operation) a temporary file in \(NSTemporaryDirectory()): \(String(cString: strerror(errno))) — set TMPDIR to a directory with free space"
    }
}
