import ByteStreams
import Foundation

/// A directory as a store. Objects are written under a hidden temporary name in their final
/// directory, fsynced, and renamed into place without replacing anything, then the directory
/// is fsynced: a crash leaves either the whole object or no object under the final name.
package final class LocalStore: ObjectStore {
    package let root: String
    /// Where a new object's temporary file is registered until it is published.
    private let cleanup: CleanupRegistry?

    /// A store that only reads (list, check, prune, verify) is not `create`d: a mistyped path is
    /// an error, not a new empty directory.
    package init(root: String, create: Bool = true, cleanup: CleanupRegistry? = nil) throws {
        self.cleanup = cleanup
        let path = (root as NSString).expandingTildeInPath
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) {
            guard isDirectory.boolValue else {
                throw StoreError.invalidLocation(root, reason: "not a directory")
            }
        } else if !create {
            throw StoreError.notFound(path: root)
        } else {
            do {
                try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
            } catch {
                throw StoreError.io(operation: "create directory", path: path, errno: errno == 0 ? EACCES : errno)
            }
        }
        self.root = path
    }

    package func path(of key: String) -> String { root + "/" + key }

    package func location(of key: String) -> String { path(of: key) }

    package func exists(key: String) -> Bool { access(path(of: key), F_OK) == 0 }

    package func presence(of key: String) throws -> Bool { exists(key: key) }

    package func createObject(key: String) throws -> ObjectWriter {
        try LocalObjectWriter(finalPath: path(of: key), cleanup: cleanup)
    }

    package func put(key: String, contents: [UInt8]) throws {
        let writer = try LocalObjectWriter(finalPath: path(of: key), cleanup: cleanup)
        try writer.write(contents)
        try writer.close()
    }

    package func open(key: String) throws -> ByteSource {
        try FileSource(path: path(of: key))
    }

    package func list(prefix: String) throws -> [(key: String, size: Int64)] {
        guard let walker = FileManager.default.enumerator(atPath: root) else { return [] }
        var found: [(String, Int64)] = []
        for case let relative as String in walker where relative.hasPrefix(prefix) && !(relative as NSString).lastPathComponent.hasPrefix(".") {
            // lstat, not attributesOfItem: a store of seals is tens of thousands of files.
            var info = stat()
            guard lstat(path(of: relative), &info) == 0, (info.st_mode & S_IFMT) == S_IFREG else { continue }
            found.append((relative, Int64(info.st_size)))
        }
        return found
    }

    package func delete(keys: [String]) throws -> [(key: String, reason: String)] {
        var failed: [(String, String)] = []
        var directories = Set<String>()
        for key in keys {
            if unlink(path(of: key)) == 0 || errno == ENOENT {
                directories.insert((path(of: key) as NSString).deletingLastPathComponent)
            } else {
                failed.append((key, String(cString: strerror(errno))))
            }
        }
        // Deletions reach the disk too, so that a crash cannot bring back a half-pruned archive.
        for directory in directories { try? LocalObjectWriter.syncDirectory(directory) }
        return failed
    }

    package func retainedUntil(key: String) throws -> Date? { nil }

    package func pendingUploads(under prefix: String) throws -> [PendingUpload] {
        guard let walker = FileManager.default.enumerator(atPath: root) else { return [] }
        var found: [PendingUpload] = []
        for case let relative as String in walker where relative.hasPrefix(prefix) {
            let name = (relative as NSString).lastPathComponent
            guard name.hasPrefix("."), let marker = name.range(of: ".partial-", options: .backwards) else { continue }
            let directory = (relative as NSString).deletingLastPathComponent
            let finalName = String(name[name.index(after: name.startIndex)..<marker.lowerBound])
            let modified = (try? FileManager.default.attributesOfItem(atPath: path(of: relative))[.modificationDate] as? Date) ?? Date()
            found.append(PendingUpload(key: directory.isEmpty ? finalName : directory + "/" + finalName, started: modified, handle: path(of: relative)))
        }
        return found
    }

    package func cancel(_ upload: PendingUpload) throws {
        guard unlink(upload.handle) == 0 || errno == ENOENT else { throw StoreError.io(operation: "remove", path: upload.handle, errno: errno) }
    }
}

/// Writes a temporary file beside the final path and publishes it on `close`.
final class LocalObjectWriter: ObjectWriter {
    let finalPath: String
    let temporaryPath: String
    private var descriptor: Int32
    private var finished = false
    private let cleanup: CleanupRegistry?

    init(finalPath: String, cleanup: CleanupRegistry?) throws {
        self.finalPath = finalPath
        self.cleanup = cleanup
        let directory = (finalPath as NSString).deletingLastPathComponent
        let name = (finalPath as NSString).lastPathComponent
        try LocalObjectWriter.makeDirectories(directory)
        if access(finalPath, F_OK) == 0 { throw StoreError.alreadyExists(path: finalPath) }
        temporaryPath = directory + "/." + name + ".partial-" + String(UInt32.random(in: 0...UInt32.max), radix: 16)
        descriptor = Glibc.open(temporaryPath, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else { throw StoreError.io(operation: "create", path: temporaryPath, errno: errno) }
        cleanup?.register(temporaryPath)
    }

    deinit { if !finished { abort() } }

    func write(_ bytes: UnsafeRawBufferPointer) throws {
        try FileDescriptorSink.writeAll(bytes, to: descriptor, path: finalPath)
    }

    func close() throws {
        guard !finished else { return }
        guard fsync(descriptor) == 0 else { throw StoreError.io(operation: "fsync", path: finalPath, errno: errno) }
        guard Glibc.close(descriptor) == 0 else { throw StoreError.io(operation: "close", path: finalPath, errno: errno) }
        descriptor = -1
        // link(2) fails when the final name exists, unlike rename(2), which would replace it.
        guard link(temporaryPath, finalPath) == 0 else {
            let code = errno
            abort()
            throw code == EEXIST ? StoreError.alreadyExists(path: finalPath)
                : StoreError.io(operation: "publish", path: finalPath, errno: code)
        }
        unlink(temporaryPath)
        cleanup?.unregister(temporaryPath)
        finished = true
        try LocalObjectWriter.syncDirectory((finalPath as NSString).deletingLastPathComponent)
    }

    func abort() {
        guard !finished else { return }
        finished = true
        if descriptor >= 0 { Glibc.close(descriptor) }
        unlink(temporaryPath)
        cleanup?.unregister(temporaryPath)
    }

    static func makeDirectories(_ directory: String) throws {
        if access(directory, F_OK) == 0 { return }
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        } catch {
            throw StoreError.io(operation: "create directory", path: directory, errno: errno == 0 ? EACCES : errno)
        }
    }

    static func syncDirectory(_ directory: String) throws {
        let fd = Glibc.open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { throw StoreError.io(operation: "open directory", path: directory, errno: errno) }
        defer { Glibc.close(fd) }
        guard fsync(fd) == 0 else { throw StoreError.io(operation: "fsync directory", path: directory, errno: errno) }
    }
}

/// Reads a file with plain read(2) calls.
package final class FileSource: ByteSource {
    private let descriptor: Int32
    package let path: String

    package init(path: String) throws {
        self.path = path
        descriptor = Glibc.open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else {
            throw errno == ENOENT ? StoreError.notFound(path: path) : StoreError.io(operation: "open", path: path, errno: errno)
        }
    }

    deinit { Glibc.close(descriptor) }

    package func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        while true {
            let n = Glibc.read(descriptor, buffer.baseAddress, buffer.count)
            if n >= 0 { return n }
            if errno != EINTR { throw StoreError.io(operation: "read", path: path, errno: errno) }
        }
    }
}

/// Writes to an open descriptor someone else owns (standard output, for `decrypt` and
/// `encrypt` without -o).
package final class FileDescriptorSink: ByteSink {
    private let descriptor: Int32
    private let name: String

    package init(descriptor: Int32, name: String) {
        self.descriptor = descriptor
        self.name = name
    }

    package static var standardOutput: FileDescriptorSink { FileDescriptorSink(descriptor: STDOUT_FILENO, name: "stdout") }

    package func write(_ bytes: UnsafeRawBufferPointer) throws {
        try Self.writeAll(bytes, to: descriptor, path: name)
    }

    package func close() throws {}

    /// write(2) until everything is written, retrying on EINTR.
    static func writeAll(_ bytes: UnsafeRawBufferPointer, to descriptor: Int32, path: String) throws {
        var offset = 0
        while offset < bytes.count {
            let n = Glibc.write(descriptor, bytes.baseAddress! + offset, bytes.count - offset)
            if n < 0 {
                if errno == EINTR { continue }
                throw StoreError.io(operation: "write", path: path, errno: errno)
            }
            offset += n
        }
    }
}
