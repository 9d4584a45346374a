import ArchiveFormat
import ByteStreams
import Cryptography
import Foundation
import ObjectStore

/// What `pgseal seal` needs: the paths, where the archive goes, under which name, and the keys.
package struct FileSealSettings: Sendable {
    package var paths: [String]
    package var destination: String
    package var name: String
    package var compression: Compression = .zstd(level: 3, threads: 0)
    package var recipients: [AgeRecipient]
    package var signingKey: SSHSigningKey?

    package init(paths: [String], destination: String, name: String, recipients: [AgeRecipient], signingKey: SSHSigningKey?) {
        self.paths = paths
        self.destination = destination
        self.name = name
        self.recipients = recipients
        self.signingKey = signingKey
    }
}

package struct FileSealResult: Sendable, Codable {
    package let archive: String
    package let name: String
    package let files: Int
    package let bytes: Int64
    package let objectBytes: Int64
    package let objectSHA256: String
    package let seconds: Double

    enum CodingKeys: String, CodingKey {
        case archive, name, files, bytes, seconds
        case objectBytes = "object_bytes"
        case objectSHA256 = "object_sha256"
    }
}

/// A file that could not be sealed as it was found.
package struct FileSealError: Error, CustomStringConvertible {
    package let path: String
    package let reason: String
    package var description: String { "\(path): \(reason); nothing was published" }
}

/// `pgseal seal`: files and directory trees into the archive format of the table exports —
/// `files/…` entries with their permissions and times, then a manifest of every entry with
/// its SHA-256 — compressed, encrypted, published atomically, sealed and signed. Files are
/// streamed; the list of entries is spooled to disk, not held in memory.
package final class FileSealJob {
    private let settings: FileSealSettings

    package init(settings: FileSealSettings) throws {
        try ArchiveNames.checkProfile(settings.name, label: "--name")
        let roots = settings.paths.map { (($0 as NSString).standardizingPath as NSString).lastPathComponent }
        if let twice = Dictionary(grouping: roots, by: { $0 }).first(where: { $0.value.count > 1 })?.key {
            throw ConfigurationError("two arguments are both named \(twice) at the top of the archive; seal their parent directory instead")
        }
        self.settings = settings
    }

    package func run(store: StoreSettings, cleanup: CleanupRegistry? = nil) throws -> FileSealResult {
        let started = Date()
        let store = try openStore(settings.destination, settings: store, create: true, cleanup: cleanup)
        let naming = ObjectNaming(profile: settings.name, time: started)
        let archive = try SealedArchiveWriter(store: store, naming: naming, compression: settings.compression,
                                              recipients: settings.recipients, signed: settings.signingKey != nil)
        do {
            let entries = try SpoolFile()
            let walk = Walk(tar: archive.tar, entries: entries)
            for path in settings.paths {
                let standardized = (path as NSString).standardizingPath
                try walk.add(standardized, as: "files/" + (standardized as NSString).lastPathComponent)
            }
            let manifest = try SpoolFile()
            try manifest.write("""
                {
                  "format": "\(FilesManifest.formatIdentifier)",
                  "tool": {"name": "pgseal", "version": "\(ExportJob.toolVersion)"},
                  "created_at": "\(naming.createdAt)",
                  "name": "\(settings.name)",
                  "files": [
                """)
            try entries.rewind()
            try entries.forEachBlock(size: 256 * 1024) { try manifest.write($0) }
            try manifest.write("\n  ]\n}\n")
            let manifestDigest = try archive.addManifest(manifest)
            let (size, digest) = try archive.finish(signingKey: settings.signingKey) { size, digest in
                var seal = SealDocument(
                    object: archive.basename, size: size, sha256: digest.hex, manifestSHA256: manifestDigest.hex,
                    createdAt: naming.createdAt, profile: settings.name,
                    encryption: archive.encrypted ? "age-x25519" : "none", recipients: settings.recipients.map(\.description),
                    compression: settings.compression.name, snapshot: "", walLSN: "", tables: [],
                    signer: settings.signingKey?.publicKey.fingerprint ?? "", tool: "pgseal \(ExportJob.toolVersion)")
                seal.contents = "files"
                seal.files = walk.count
                return seal
            }
            return FileSealResult(archive: store.location(of: archive.key), name: settings.name, files: walk.count, bytes: walk.bytes,
                                  objectBytes: size, objectSHA256: digest.hex, seconds: Date().timeIntervalSince(started))
        } catch {
            archive.abort()
            throw error
        }
    }

    /// Walks the trees depth first, entries of a directory in byte order of their names, and
    /// writes each into the tar and its line into the entry spool.
    final class Walk {
        let tar: TarWriter
        let entries: SpoolFile
        var count = 0
        var bytes: Int64 = 0
        private let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 16)

        init(tar: TarWriter, entries: SpoolFile) {
            self.tar = tar
            self.entries = entries
        }

        deinit { buffer.deallocate() }

        func add(_ path: String, as entryPath: String) throws {
            var info = stat()
            guard lstat(path, &info) == 0 else { throw FileSealError(path: path, reason: String(cString: strerror(errno))) }
            let mode = Int32(info.st_mode & 0o7777)
            let mtime = Int(info.st_mtim.tv_sec)
            let file: FilesManifest.File
            switch info.st_mode & S_IFMT {
            case S_IFREG:
                let digest = try addRegularFile(path, as: entryPath, size: Int64(info.st_size), mode: mode, mtime: mtime)
                file = .init(path: entryPath, kind: .file, mode: mode, size: Int64(info.st_size), sha256: digest.hex, target: nil, mtime: mtime)
                bytes += Int64(info.st_size)
            case S_IFDIR:
                try tar.addEntry(path: entryPath, kind: .directory, mode: mode, modificationTime: mtime)
                file = .init(path: entryPath, kind: .directory, mode: mode, size: 0, sha256: nil, target: nil, mtime: mtime)
            case S_IFLNK:
                var target = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
                let n = readlink(path, &target, target.count - 1)
                guard n >= 0 else { throw FileSealError(path: path, reason: String(cString: strerror(errno))) }
                let text = String(decoding: target[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
                try tar.addEntry(path: entryPath, kind: .symlink, mode: mode, modificationTime: mtime, linkTarget: text)
                file = .init(path: entryPath, kind: .symlink, mode: mode, size: 0, sha256: nil, target: text, mtime: mtime)
            default:
                throw FileSealError(path: path, reason: "not a regular file, directory or symbolic link (a socket, pipe or device cannot be sealed)")
            }
            try entries.write((count == 0 ? "\n    " : ",\n    ") + FilesManifest.line(file))
            count += 1
            if info.st_mode & S_IFMT == S_IFDIR {
                let names: [String]
                do {
                    names = try FileManager.default.contentsOfDirectory(atPath: path)
                } catch {
                    throw FileSealError(path: path, reason: "cannot list the directory: \(error.localizedDescription)")
                }
                for name in names.sorted(by: { $0.utf8.lexicographicallyPrecedes($1.utf8) }) {
                    try add(path + "/" + name, as: entryPath + "/" + name)
                }
            }
        }

        /// Streams the file into the tar through SHA-256; a file that changes size while it is
        /// read is an error, not a silently different archive.
        private func addRegularFile(_ path: String, as entryPath: String, size: Int64, mode: Int32, mtime: Int) throws -> Digest {
            let source: FileSource
            do { source = try FileSource(path: path) } catch { throw FileSealError(path: path, reason: "cannot be read: \(error)") }
            let hasher = SHA256Hasher()
            var remaining = size
            let buffer = self.buffer
            try tar.addFile(path: entryPath, size: Int(size), mode: mode, modificationTime: mtime) { write in
                while remaining > 0 {
                    let n = try source.read(into: UnsafeMutableRawBufferPointer(rebasing: buffer[0..<Int(min(Int64(buffer.count), remaining))]))
                    guard n > 0 else { throw FileSealError(path: path, reason: "shrank while it was being sealed") }
                    let bytes = UnsafeRawBufferPointer(rebasing: buffer[0..<n])
                    hasher.update(bytes)
                    try write(bytes)
                    remaining -= Int64(n)
                }
            }
            if try source.read(into: UnsafeMutableRawBufferPointer(rebasing: buffer[0..<1])) > 0 {
                throw FileSealError(path: path, reason: "grew while it was being sealed")
            }
            return hasher.finalize()
        }
    }
}
