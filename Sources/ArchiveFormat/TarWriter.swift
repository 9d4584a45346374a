import ByteStreams
import CArchive

/// Writes a pax tar stream through a compression filter into a `ByteSink`, on libarchive.
/// The libarchive handle is owned here and freed in `deinit`.
package final class TarWriter {
    private let handle: OpaquePointer
    private let output: OutputContext
    private let modificationTime: Int
    private var closed = false

    /// Carries the sink into libarchive's C callbacks, and any error back out of them.
    final class OutputContext {
        let sink: ByteSink
        var error: Error?
        init(_ sink: ByteSink) { self.sink = sink }
    }

    package init(sink: ByteSink, compression: Compression, modificationTime: Int) throws(ArchiveError) {
        guard let handle = archive_write_new() else {
            throw ArchiveError(operation: "archive_write_new", message: "out of memory")
        }
        self.handle = handle
        self.output = OutputContext(sink)
        self.modificationTime = modificationTime
        try check(archive_write_set_format_pax_restricted(handle), "set pax format")
        switch compression {
        case .zstd(let level, let threads):
            try check(archive_write_add_filter_zstd(handle), "add zstd filter")
            try check(archive_write_set_filter_option(handle, "zstd", "compression-level", String(level)), "zstd level \(level)")
            if threads > 0 {
                try check(archive_write_set_filter_option(handle, "zstd", "threads", String(threads)), "zstd threads")
            }
        case .gzip(let level):
            try check(archive_write_add_filter_gzip(handle), "add gzip filter")
            try check(archive_write_set_filter_option(handle, "gzip", "compression-level", String(level)), "gzip level \(level)")
        case .none:
            break
        }
        // Compressed or not, the stream ends where its data ends: no padding to a 10 KiB block.
        try check(archive_write_set_bytes_per_block(handle, 64 * 1024), "block size")
        try check(archive_write_set_bytes_in_last_block(handle, 1), "last block")
        let context = Unmanaged.passUnretained(output).toOpaque()
        try check(archive_write_open2(handle, context, nil, { _, context, buffer, length in
            let output = Unmanaged<OutputContext>.fromOpaque(context!).takeUnretainedValue()
            do {
                try output.sink.write(UnsafeRawBufferPointer(start: buffer, count: length))
                return la_ssize_t(length)
            } catch {
                output.error = error
                return -1
            }
        }, nil, nil), "open")
    }

    deinit { archive_write_free(handle) }

    /// Writes one regular file entry whose size is known in advance.
    package func addFile(path: String, size: Int, mode: Int32 = 0o644, modificationTime mtime: Int? = nil, _ writeBody: ((UnsafeRawBufferPointer) throws(ArchiveError) -> Void) throws -> Void) throws {
        try writeHeader(path: path, kind: .file, size: size, mode: mode, modificationTime: mtime ?? modificationTime)
        var written = 0
        try writeBody { (bytes: UnsafeRawBufferPointer) throws(ArchiveError) in
            var offset = 0
            while offset < bytes.count {
                let n = archive_write_data(handle, bytes.baseAddress! + offset, bytes.count - offset)
                if n < 0 { throw self.error("write data of \(path)") }
                offset += n
            }
            written += bytes.count
        }
        guard written == size else {
            throw ArchiveError(operation: "write \(path)", message: "wrote \(written) bytes of a \(size)-byte entry")
        }
        try check(archive_write_finish_entry(handle), "finish \(path)")
    }

    /// Writes a directory entry, or a symbolic link to `target`: a header without data.
    package func addEntry(path: String, kind: EntryKind, mode: Int32, modificationTime mtime: Int, linkTarget: String? = nil) throws {
        try writeHeader(path: path, kind: kind, size: 0, mode: mode, modificationTime: mtime, linkTarget: linkTarget)
        try check(archive_write_finish_entry(handle), "finish \(path)")
    }

    private func writeHeader(path: String, kind: EntryKind, size: Int, mode: Int32, modificationTime mtime: Int, linkTarget: String? = nil) throws {
        guard let entry = archive_entry_new() else { throw ArchiveError(operation: "archive_entry_new", message: "out of memory") }
        defer { archive_entry_free(entry) }
        archive_entry_set_pathname_utf8(entry, path)
        archive_entry_set_size(entry, la_int64_t(size))
        archive_entry_set_filetype(entry, kind.archiveType)
        archive_entry_set_perm(entry, mode_t(mode))
        archive_entry_set_mtime(entry, time_t(mtime), 0)
        if let linkTarget { archive_entry_set_symlink_utf8(entry, linkTarget) }
        try check(UTF8Locale.run { archive_write_header(handle, entry) }, "write header of \(path)")
    }

    /// Writes an entry from a buffer in one piece.
    package func addFile(path: String, contents: UnsafeRawBufferPointer) throws {
        try addFile(path: path, size: contents.count) { write in try write(contents) }
    }

    /// Ends the tar stream, flushes the compressor and closes the sink.
    package func close() throws {
        guard !closed else { return }
        closed = true
        try check(archive_write_close(handle), "close")
        try output.sink.close()
    }

    private func check(_ status: Int32, _ operation: String) throws(ArchiveError) {
        if status < ARCHIVE_WARN { throw error(operation) }
    }

    private func error(_ operation: String) -> ArchiveError {
        let message = archive_error_string(handle).map { String(cString: $0) } ?? "unknown libarchive error"
        return ArchiveError(operation: operation, message: message, underlying: output.error)
    }
}
