import ByteStreams
import CArchive
import Display

/// One entry's header, as read.
package struct TarEntry: Sendable {
    package let path: String
    package let size: Int64
    package let kind: EntryKind
    /// Permission bits.
    package let mode: Int32
    /// A symbolic link's target.
    package let linkTarget: String?

    package var isRegularFile: Bool { kind == .file }
}

/// Reads a tar stream, compressed with zstd, gzip or not at all, from a `ByteSource`, entry by
/// entry, with fixed-size buffers. The libarchive handle is owned here and freed in `deinit`.
package final class TarReader {
    private let handle: OpaquePointer
    private let input: InputContext
    /// How many bytes of tar stream (headers and data) this reader may take before it stops:
    /// what a small object can expand to is bounded, whatever its compression says.
    private let limit: Int64?
    package private(set) var consumed: Int64 = 0

    final class InputContext {
        let source: ByteSource
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 256 * 1024, alignment: 16)
        var error: Error?
        init(_ source: ByteSource) { self.source = source }
        deinit { buffer.deallocate() }
    }

    package init(source: ByteSource, limit: Int64? = nil) throws(ArchiveError) {
        self.limit = limit
        guard let handle = archive_read_new() else {
            throw ArchiveError(operation: "archive_read_new", message: "out of memory")
        }
        self.handle = handle
        self.input = InputContext(source)
        archive_read_support_filter_zstd(handle)
        archive_read_support_filter_gzip(handle)
        archive_read_support_format_tar(handle)
        let context = Unmanaged.passUnretained(input).toOpaque()
        let status = archive_read_open(handle, context, nil, { _, context, bufferOut in
            let input = Unmanaged<InputContext>.fromOpaque(context!).takeUnretainedValue()
            do {
                let n = try input.source.read(into: input.buffer)
                bufferOut?.pointee = UnsafeRawPointer(input.buffer.baseAddress)
                return la_ssize_t(n)
            } catch {
                input.error = error
                return -1
            }
        }, nil)
        if status != ARCHIVE_OK { throw self.error("open") }
    }

    deinit { archive_read_free(handle) }

    /// The next entry's header, or nil at the end of the archive.
    package func nextEntry() throws(ArchiveError) -> TarEntry? {
        var entry: OpaquePointer?
        let status = UTF8Locale.run { archive_read_next_header(handle, &entry) }
        if status == ARCHIVE_EOF {
            // libarchive reads ahead: a source that failed after the end-of-archive blocks were
            // in hand (the last age chunk altered) must not end the stream as if nothing happened.
            if let failure = input.error { throw ArchiveError(operation: "read", message: "\(failure)", underlying: failure) }
            return nil
        }
        if status < ARCHIVE_WARN { throw error("read header") }
        guard let entry else { return nil }
        let path = UTF8Locale.run {
            archive_entry_pathname_utf8(entry).map { String(cString: $0) }
                ?? archive_entry_pathname(entry).map { String(cString: $0) } ?? ""
        }
        let kind = EntryKind(archiveType: UInt32(archive_entry_filetype(entry)))
        let target = kind == .symlink ? UTF8Locale.run {
            archive_entry_symlink_utf8(entry).map { String(cString: $0) } ?? archive_entry_symlink(entry).map { String(cString: $0) }
        } : nil
        let size = Int64(archive_entry_size(entry))
        guard size >= 0 else { throw ArchiveError(operation: "read header", message: "entry \(path) declares a negative size") }
        try charge(512 + size, entry: path)
        return TarEntry(path: path, size: size, kind: kind,
                        mode: Int32(archive_entry_perm(entry)), linkTarget: target)
    }

    /// Counts `bytes` of the stream against the limit, before they are read.
    private func charge(_ bytes: Int64, entry: String) throws(ArchiveError) {
        let (total, overflow) = consumed.addingReportingOverflow(bytes)
        consumed = overflow ? Int64.max : total
        if let limit, consumed > limit {
            throw ArchiveError(operation: "read header", message: "entry \(Terminal.escaped(entry)) takes the tar stream past \(limit) bytes, more than the object may expand to: a decompression bomb or a tampered archive")
        }
    }

    /// Reads the current entry's data; 0 at its end.
    package func readData(into buffer: UnsafeMutableRawBufferPointer) throws(ArchiveError) -> Int {
        let n = archive_read_data(handle, buffer.baseAddress, buffer.count)
        if n < 0 { throw error("read data") }
        return n
    }

    /// Reads the current entry to its end, lending each piece to `body`.
    package func forEachBlock(_ body: (UnsafeRawBufferPointer) throws -> Void) throws {
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 256 * 1024, alignment: 16)
        defer { buffer.deallocate() }
        while true {
            let n = try readData(into: buffer)
            if n == 0 { return }
            try body(UnsafeRawBufferPointer(rebasing: buffer[0..<n]))
        }
    }

    private func error(_ operation: String) -> ArchiveError {
        let message = archive_error_string(handle).map { String(cString: $0) } ?? "unknown libarchive error"
        return ArchiveError(operation: operation, message: message, underlying: input.error)
    }
}

/// A tar stream read entry by entry: `TarReader`, or a reader of one on another thread.
package protocol TarEntries: AnyObject {
    func nextEntry() throws -> TarEntry?
    /// Reads the current entry to its end, lending each piece to `body`.
    func forEachBlock(_ body: (UnsafeRawBufferPointer) throws -> Void) throws
}

extension TarReader: TarEntries {}

extension TarEntries {
    /// The current entry's data, whole: for small entries such as the manifest. An entry whose
    /// header declares more than `limit` is refused before its data is read.
    package func readAll(_ entry: TarEntry, limit: Int) throws -> [UInt8] {
        let refusal = ArchiveError(operation: "read entry", message: "\(Terminal.escaped(entry.path)) is larger than the bound on a metadata entry, \(limit) bytes: a tampered archive")
        guard entry.size <= Int64(limit) else { throw refusal }
        var data: [UInt8] = []
        try forEachBlock { piece in
            guard data.count + piece.count <= limit else { throw refusal }
            data.append(contentsOf: piece)
        }
        return data
    }
}
