import Archive
import ByteStreams
import Foundation
import ObjectStore
import Seal

/// `pgseal extract`: an archive of files (`pgseal seal`) back onto disk, as a careful operator
/// would do it by hand and better: the seal verified first; every entry checked as it streams
/// (only regular files, directories and symbolic links; no absolute path, no `..`, no link that
/// points out of the target, nothing written through a link); everything written into a
/// staging directory inside the target and compared with the signed manifest; only then moved
/// under its final name — an interrupted or refused extraction leaves nothing behind.
public struct ExtractRequest: Sendable {
    public var archive: String
    public var destination: String
    /// Archive paths (relative to the archive's root, as `pgseal inspect` lists them without
    /// `files/`) to extract, each with what is below it; empty: everything.
    public var paths: [String] = []
    public var overwrite = false
    public var policy: TrustPolicy
    public var keys: AgeKeyring
    public var limits = ReadLimits()

    public init(archive: String, destination: String, policy: TrustPolicy, keys: AgeKeyring) {
        self.archive = archive
        self.destination = destination
        self.policy = policy
        self.keys = keys
    }
}

public struct ExtractResult: Codable, Sendable {
    public var archive: String
    public var destination: String
    public var files = 0
    public var directories = 0
    public var symlinks = 0
    public var bytes: Int64 = 0
    /// Entries of the archive not selected by the request's paths.
    public var skipped = 0
    public var seconds: Double = 0
}

public enum ExtractError: Error, CustomStringConvertible, IntegrityViolation {
    case notFiles(String)
    /// An entry that would escape the target or is not a plain file, directory or link: the
    /// archive was made to attack its reader (exit 1).
    case unsafeEntry(path: String, reason: String)
    /// The bytes do not match the signed manifest (exit 1).
    case mismatch(path: String, reason: String)
    case wouldOverwrite([String])
    case unsafeTarget(String)
    case noSuchPaths([String])

    public var description: String {
        switch self {
        case .notFiles(let archive):
            "\(Terminal.escaped(archive)) is an archive of tables, not of files: use restore (or verify --level restore)"
        case .unsafeEntry(let path, let reason):
            "entry \(Terminal.escaped(path)): \(reason); nothing was extracted"
        case .mismatch(let path, let reason):
            "entry \(Terminal.escaped(path)): \(reason); nothing was extracted"
        case .wouldOverwrite(let paths):
            "\(paths.prefix(5).map(Terminal.escaped).joined(separator: ", "))\(paths.count > 5 ? " and \(paths.count - 5) more" : "") already exist: give --overwrite to replace them; nothing was extracted"
        case .unsafeTarget(let path):
            "\(Terminal.escaped(path)) is a symbolic link in the target: pgseal does not write through links; nothing was extracted"
        case .noSuchPaths(let paths):
            "the archive has no entry \(paths.map(Terminal.escaped).joined(separator: ", ")); pgseal inspect lists its entries"
        }
    }

    public var isIntegrityFailure: Bool {
        switch self {
        case .unsafeEntry, .mismatch: true
        default: false
        }
    }
}

public enum FileExtractor {
    struct Staged {
        let path: String  // relative to the archive's root
        let kind: EntryKind
        let mode: Int32
        let size: Int64
        let sha256: String?
        let target: String?
    }

    public static func run(_ request: ExtractRequest) throws -> ExtractResult {
        let started = Date()
        let gated = try GatedArchive.openDecrypting(request.archive, policy: request.policy, limits: request.limits, keys: request.keys)
        guard let seal = gated.seal, seal.isFilesArchive else { throw ExtractError.notFiles(request.archive) }
        let selection = try request.paths.map(Self.relativePath)

        try FileManager.default.createDirectory(atPath: request.destination, withIntermediateDirectories: true)
        let root = URL(fileURLWithPath: request.destination).standardizedFileURL.path
        let staging = root + "/.pgseal-extract-" + String(UInt64.random(in: 0...UInt64.max), radix: 36)
        try FileManager.default.createDirectory(atPath: staging, withIntermediateDirectories: false, attributes: [.posixPermissions: 0o700])
        let cleanup = InterruptCleanup.shared.addAction { try? FileManager.default.removeItem(atPath: staging) }
        defer {
            try? FileManager.default.removeItem(atPath: staging)
            InterruptCleanup.shared.removeAction(cleanup)
        }

        var result = ExtractResult(archive: request.archive, destination: root)
        var staged: [Staged] = []
        var links = Set<String>()
        var seenPaths = Set<String>()
        var manifestBytes: [UInt8]?
        let object = try gated.openObject()
        try gated.reading(object) {
            let tar = try gated.tar(over: object, keys: request.keys)
            while let entry = try tar.nextEntry() {
                if entry.path == Manifest.entryPath {
                    manifestBytes = try tar.readAll(limit: ArchiveManifest.sizeLimit)
                    continue
                }
                guard manifestBytes == nil else { throw ExtractError.unsafeEntry(path: entry.path, reason: "it follows manifest.json, which must be last") }
                let relative = try Self.entryPath(entry)
                guard seenPaths.insert(relative).inserted else { throw ExtractError.unsafeEntry(path: entry.path, reason: "it appears twice") }
                // Nothing is ever written below a link: a link `a -> /etc` and a file `a/passwd`
                // would otherwise put the file in /etc.
                if let link = Self.ancestors(of: relative).first(where: links.contains) {
                    throw ExtractError.unsafeEntry(path: entry.path, reason: "it lies below the symbolic link \(link)")
                }
                guard selection.isEmpty || selection.contains(where: { relative == $0 || relative.hasPrefix($0 + "/") }) else {
                    result.skipped += 1
                    continue
                }
                let target = staging + "/" + relative
                try FileManager.default.createDirectory(atPath: (target as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
                switch entry.kind {
                case .directory:
                    try FileManager.default.createDirectory(atPath: target, withIntermediateDirectories: true)
                    staged.append(Staged(path: relative, kind: .directory, mode: entry.mode, size: 0, sha256: nil, target: nil))
                case .symlink:
                    let destination = entry.linkTarget ?? ""
                    try Self.checkLink(relative, to: destination)
                    links.insert(relative)
                    try FileManager.default.createSymbolicLink(atPath: target, withDestinationPath: destination)
                    staged.append(Staged(path: relative, kind: .symlink, mode: entry.mode, size: 0, sha256: nil, target: destination))
                case .file:
                    let (size, digest) = try Self.writeFile(tar, to: target)
                    guard size == entry.size else { throw ExtractError.mismatch(path: entry.path, reason: "\(size) bytes of data, the tar header says \(entry.size)") }
                    staged.append(Staged(path: relative, kind: .file, mode: entry.mode, size: size, sha256: digest, target: nil))
                case .other:
                    throw ExtractError.unsafeEntry(path: entry.path, reason: "it is a device, FIFO or hard link; an archive of files holds regular files, directories and symbolic links only")
                }
            }
            try object.finish()
        }

        // The staged entries against the signed manifest: kind, mode, size, SHA-256, target.
        guard let manifestBytes else { throw ExtractError.mismatch(path: Manifest.entryPath, reason: "missing: the archive is incomplete") }
        guard manifestBytes.withUnsafeBytes({ SHA256Hasher.hash($0) }).hex == seal.manifestSHA256 else {
            throw ExtractError.mismatch(path: Manifest.entryPath, reason: "its SHA-256 differs from the seal's manifest_sha256")
        }
        let manifest = try FilesManifest.decode(manifestBytes)
        let listed = Dictionary(manifest.files.map { (String($0.path.dropFirst("files/".count)), $0) }, uniquingKeysWith: { first, _ in first })
        guard listed.count == manifest.files.count, Set(listed.keys) == seenPaths else {
            throw ExtractError.mismatch(path: Manifest.entryPath, reason: "the archive's entries are not the manifest's")
        }
        for entry in staged {
            guard let file = listed[entry.path], file.kind == entry.kind, file.mode == FilesManifest.File.modeText(entry.mode),
                  file.kind != .file || (file.size == entry.size && file.sha256 == entry.sha256),
                  file.kind != .symlink || file.target == entry.target
            else { throw ExtractError.mismatch(path: "files/" + entry.path, reason: "it differs from the signed manifest") }
        }
        let unmatched = selection.filter { path in !staged.contains { $0.path == path || $0.path.hasPrefix(path + "/") } }
        guard unmatched.isEmpty else { throw ExtractError.noSuchPaths(unmatched) }

        // Before anything moves: no link in the target on the way, nothing replaced unasked.
        var existing: [String] = []
        for entry in staged {
            for ancestor in Self.ancestors(of: entry.path) where Self.isSymlink(root + "/" + ancestor) {
                throw ExtractError.unsafeTarget(root + "/" + ancestor)
            }
            let final = root + "/" + entry.path
            if entry.kind != .directory, Self.exists(final) {
                if !request.overwrite || Self.isDirectory(final) { existing.append(final) }
            }
            if entry.kind == .directory, Self.exists(final), !Self.isDirectory(final) || Self.isSymlink(final) { existing.append(final) }
        }
        guard existing.isEmpty else { throw ExtractError.wouldOverwrite(existing) }

        // Modes and times as recorded (setuid and setgid bits dropped), then into place: files
        // and links by rename, directories made and given their mode last, deepest first.
        let times = Dictionary(manifest.files.map { (String($0.path.dropFirst("files/".count)), $0.mtime) }, uniquingKeysWith: { first, _ in first })
        for entry in staged where entry.kind != .directory {
            let source = staging + "/" + entry.path
            if entry.kind == .file { try Self.apply(mode: entry.mode, mtime: times[entry.path], to: source) }
            if entry.kind == .symlink, let mtime = times[entry.path] { try Self.setTime(mtime, of: source, followLink: false) }
            try FileManager.default.createDirectory(atPath: ((root + "/" + entry.path) as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            guard rename(source, root + "/" + entry.path) == 0 else {
                throw StoreError.io(operation: "rename into place", path: root + "/" + entry.path, errno: errno)
            }
            if entry.kind == .file { result.files += 1; result.bytes += entry.size } else { result.symlinks += 1 }
        }
        for entry in staged.filter({ $0.kind == .directory }).sorted(by: { $0.path.count > $1.path.count }) {
            let final = root + "/" + entry.path
            try FileManager.default.createDirectory(atPath: final, withIntermediateDirectories: true)
            try Self.apply(mode: entry.mode, mtime: times[entry.path], to: final)
            result.directories += 1
        }
        result.seconds = Date().timeIntervalSince(started)
        return result
    }

    /// An entry's path below `files/`, refused when it could land outside the target.
    static func entryPath(_ entry: TarEntry) throws -> String {
        var path = entry.path
        if entry.kind == .directory, path.hasSuffix("/") { path.removeLast() }
        guard path.hasPrefix("files/") else { throw ExtractError.unsafeEntry(path: entry.path, reason: "it is outside files/") }
        return try relativePath(String(path.dropFirst("files/".count)), entry: entry.path)
    }

    /// A relative path of plain components: not absolute, no `.`, `..` or empty component, no NUL.
    static func relativePath(_ path: String) throws -> String { try relativePath(path, entry: path) }

    static func relativePath(_ path: String, entry: String) throws -> String {
        let trimmed = path.hasSuffix("/") ? String(path.dropLast()) : path
        let components = trimmed.split(separator: "/", omittingEmptySubsequences: false)
        guard !trimmed.isEmpty, !trimmed.hasPrefix("/"), !trimmed.utf8.contains(0),
              components.allSatisfy({ !$0.isEmpty && $0 != "." && $0 != ".." }) else {
            throw ExtractError.unsafeEntry(path: entry, reason: "its path is absolute or climbs out with .. (or is empty)")
        }
        return trimmed
    }

    /// A link must point inside the target: relative, and never above the target's root.
    static func checkLink(_ path: String, to destination: String) throws {
        guard !destination.isEmpty, !destination.hasPrefix("/") else {
            throw ExtractError.unsafeEntry(path: "files/" + path, reason: "it is a symbolic link to \(destination), an absolute path outside the target")
        }
        var depth = path.split(separator: "/").count - 1
        for component in destination.split(separator: "/") {
            if component == ".." { depth -= 1 } else if component != "." { depth += 1 }
            if depth < 0 {
                throw ExtractError.unsafeEntry(path: "files/" + path, reason: "it is a symbolic link to \(destination), which points outside the target")
            }
        }
    }

    /// `a`, `a/b` for `a/b/c`.
    static func ancestors(of path: String) -> [String] {
        let components = path.split(separator: "/")
        return (1..<max(components.count, 1)).map { components.prefix($0).joined(separator: "/") }
    }

    private static func writeFile(_ tar: TarReader, to path: String) throws -> (Int64, String) {
        let descriptor = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0o600)
        guard descriptor >= 0 else { throw StoreError.io(operation: "create", path: path, errno: errno) }
        defer { close(descriptor) }
        let hasher = SHA256Hasher()
        var size: Int64 = 0
        try tar.forEachBlock { block in
            hasher.update(block)
            size += Int64(block.count)
            var offset = 0
            while offset < block.count {
                let written = write(descriptor, block.baseAddress?.advanced(by: offset), block.count - offset)
                guard written > 0 else { throw StoreError.io(operation: "write", path: path, errno: errno) }
                offset += written
            }
        }
        guard fsync(descriptor) == 0 else { throw StoreError.io(operation: "fsync", path: path, errno: errno) }
        return (size, hasher.finalize().hex)
    }

    private static func apply(mode: Int32, mtime: Int?, to path: String) throws {
        guard chmod(path, mode_t(mode & 0o1777)) == 0 else { throw StoreError.io(operation: "chmod", path: path, errno: errno) }
        if let mtime { try setTime(mtime, of: path, followLink: true) }
    }

    private static func setTime(_ mtime: Int, of path: String, followLink: Bool) throws {
        let time = timespec(tv_sec: mtime, tv_nsec: 0)
        var times = [time, time]
        guard utimensat(AT_FDCWD, path, &times, followLink ? 0 : AT_SYMLINK_NOFOLLOW) == 0 else {
            throw StoreError.io(operation: "set times", path: path, errno: errno)
        }
    }

    private static func exists(_ path: String) -> Bool {
        var info = stat()
        return lstat(path, &info) == 0
    }

    private static func isSymlink(_ path: String) -> Bool {
        var info = stat()
        return lstat(path, &info) == 0 && (info.st_mode & S_IFMT) == S_IFLNK
    }

    private static func isDirectory(_ path: String) -> Bool {
        var info = stat()
        return lstat(path, &info) == 0 && (info.st_mode & S_IFMT) == S_IFDIR
    }
}
