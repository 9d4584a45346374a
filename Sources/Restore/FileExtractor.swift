import ArchiveFormat
import ArchiveReading
import ByteStreams
import Cryptography
import Display
import Foundation
import ObjectStore

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
    /// How the archive's store is reached: S3 endpoint, region, credentials (a directory needs none).
    public var storeSettings = StoreSettings()
    /// Where pending clean-up (staging files, scratch databases) is registered for the
    /// program's signal handler; nil: none (docs/DESIGN.md, "Signals").
    public var cleanup: CleanupRegistry?

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
    /// Something in the target stands where the archive puts a directory, or a directory where
    /// it puts a file; or a link where pgseal would have to go through it.
    case inTheWay(path: String, found: String, needed: String)
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
            "\(paths.prefix(5).map(Terminal.escaped).joined(separator: ", "))\(paths.count > 5 ? " and \(paths.count - 5) more" : "") already exist, and extraction replaces files only when asked to (`overwrite`); nothing was extracted"
        case .unsafeTarget(let path):
            "\(Terminal.escaped(path)) is a symbolic link in the target: pgseal does not write through links; nothing was extracted"
        case .inTheWay(let path, let found, let needed):
            "\(Terminal.escaped(path)) is in the way: \(found) is there, where the archive needs \(needed); move it away or extract elsewhere — pgseal neither writes through links nor replaces directories; nothing was extracted"
        case .noSuchPaths(let paths):
            "the archive has no entry \(paths.map(Terminal.escaped).joined(separator: ", ")); pgseal inspect lists its entries"
        }
    }

    /// `kind` found at `path`, where something else was needed.
    static func obstacle(_ path: String, _ kind: DirectoryHandle.Kind?, needed: String? = nil) -> ExtractError {
        let found = switch kind {
        case .directory?: "a directory"
        case .file?: "a file"
        case .symlink?: "a symbolic link"
        case .other?: "a device, FIFO or socket"
        case nil: "something"
        }
        return .inTheWay(path: path, found: found, needed: needed ?? (kind == .directory ? "a file or link" : "a directory or nothing"))
    }

    public var isIntegrityFailure: Bool {
        switch self {
        case .unsafeEntry, .mismatch: true
        default: false
        }
    }
}

package enum FileExtractor {
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
        let gated = try GatedArchive.openDecrypting(request.archive, store: request.storeSettings, policy: request.policy, limits: request.limits, keys: request.keys)
        guard let seal = gated.seal, seal.isFilesArchive else { throw ExtractError.notFiles(request.archive) }
        let selection = try request.paths.map(Self.relativePath)

        try FileManager.default.createDirectory(atPath: request.destination, withIntermediateDirectories: true)
        let rootPath = URL(fileURLWithPath: request.destination).standardizedFileURL.path
        // From here on, nothing below the target is reached by a path: only through descriptors.
        let root = try DirectoryHandle(opening: rootPath)
        let stagingName = ".pgseal-extract-" + String(UInt64.random(in: 0...UInt64.max), radix: 36)
        let staging = try root.directory(stagingName, create: true)
        let cleanup = request.cleanup?.addAction { root.removeTree(stagingName) }
        defer {
            root.removeTree(stagingName)
            if let cleanup { request.cleanup?.removeAction(cleanup) }
        }

        var result = ExtractResult(archive: request.archive, destination: rootPath)
        var staged: [Staged] = []
        var links = Set<String>()
        var seenPaths = Set<String>()
        var manifestBytes: [UInt8]?
        let object = try gated.openObject()
        try gated.reading(object) {
            let tar = try gated.tar(over: object, keys: request.keys)
            while let entry = try tar.nextEntry() {
                if entry.path == Manifest.entryPath {
                    manifestBytes = try tar.readAll(entry, limit: ArchiveManifest.sizeLimit)
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
                let (parents, name) = Self.split(relative)
                let parent = try staging.walk(parents, create: true)
                switch entry.kind {
                case .directory:
                    _ = try parent.directory(name, create: true)
                    staged.append(Staged(path: relative, kind: .directory, mode: entry.mode, size: 0, sha256: nil, target: nil))
                case .symlink:
                    let destination = entry.linkTarget ?? ""
                    try Self.checkLink(relative, to: destination)
                    links.insert(relative)
                    try parent.symlink(destination, named: name)
                    staged.append(Staged(path: relative, kind: .symlink, mode: entry.mode, size: 0, sha256: nil, target: destination))
                case .file:
                    let (size, digest) = try Self.writeFile(tar, to: try parent.createFile(name), path: parent.location(name))
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
        // Links judged together: a link's target may not pass through another link.
        for entry in staged where entry.kind == .symlink {
            try Self.checkChain(entry.path, to: entry.target ?? "", links: links, in: root)
        }

        // Before anything moves: every way into the target a real directory or nothing, nothing
        // replaced unasked — each refusal names what is in the way.
        var existing: [String] = []
        for entry in staged {
            let (parents, name) = Self.split(entry.path)
            guard let parent = try Self.existingParent(parents, in: root) else { continue }
            switch (entry.kind, try parent.kind(of: name)) {
            case (_, nil), (.directory, .directory?): break
            case (.directory, let found?): throw ExtractError.obstacle(parent.location(name), found)
            case (_, .directory?): throw ExtractError.obstacle(parent.location(name), .directory)
            case (_, .other?): throw ExtractError.obstacle(parent.location(name), .other)
            case (_, _?): if !request.overwrite { existing.append(parent.location(name)) }
            }
        }
        guard existing.isEmpty else { throw ExtractError.wouldOverwrite(existing) }

        // Directories made first, then files (mode and time as recorded, setuid and setgid
        // dropped) and links moved in; directories get their mode and time last, deepest first.
        let times = Dictionary(manifest.files.map { (String($0.path.dropFirst("files/".count)), $0.mtime) }, uniquingKeysWith: { first, _ in first })
        for entry in staged where entry.kind == .directory {
            _ = try root.walk(entry.path.split(separator: "/"), create: true)
        }
        for entry in staged where entry.kind != .directory {
            let (parents, name) = Self.split(entry.path)
            let from = try staging.walk(parents, create: false)
            if entry.kind == .file { try from.applyToFile(name, mode: entry.mode, mtime: times[entry.path] ?? nil) }
            if entry.kind == .symlink, let mtime = times[entry.path] ?? nil { try from.setLinkTime(name, mtime: mtime) }
            try from.move(name, to: try root.walk(parents, create: true), as: name, replace: request.overwrite)
            if entry.kind == .file {
                result.files += 1
                result.bytes = [result.bytes, entry.size].saturatingSum()
            } else {
                result.symlinks += 1
            }
        }
        for entry in staged.filter({ $0.kind == .directory }).sorted(by: { $0.path.count > $1.path.count }) {
            try root.walk(entry.path.split(separator: "/"), create: false).apply(mode: entry.mode, mtime: times[entry.path] ?? nil)
            result.directories += 1
        }
        result.seconds = Date().timeIntervalSince(started)
        return result
    }

    /// `a/b/c` → (`[a, b]`, `c`).
    static func split(_ path: String) -> (parents: [Substring], name: String) {
        let components = path.split(separator: "/")
        return (Array(components.dropLast()), String(components.last ?? ""))
    }

    /// The directory at `components` below `root` if it is there, nil if some part is absent;
    /// a link or a file on the way is in the way.
    static func existingParent(_ components: [Substring], in root: DirectoryHandle) throws -> DirectoryHandle? {
        var current = root
        for component in components {
            switch try current.kind(of: String(component)) {
            case nil: return nil
            case .directory?: current = try current.directory(String(component), create: false)
            case let found?: throw ExtractError.obstacle(current.location(String(component)), found)
            }
        }
        return current
    }

    /// A link's target read as the kernel will read it: every component but the last must be a
    /// real directory — neither a link of the archive nor a link already in the target — since
    /// `..` after a link climbs from wherever that link points (`s -> ../..` and `t -> s/../x`
    /// each stay inside when judged alone; together they leave).
    static func checkChain(_ path: String, to target: String, links: Set<String>, in root: DirectoryHandle) throws {
        var resolved = Array(path.split(separator: "/").dropLast().map(String.init))
        let components = target.split(separator: "/").map(String.init)
        for component in components.dropLast() {
            switch component {
            case ".": continue
            case "..": _ = resolved.popLast()
            default:
                resolved.append(component)
                let through = resolved.joined(separator: "/")
                let (parents, name) = split(through)
                let inTarget = try existingParent(parents, in: root).flatMap { try $0.kind(of: name) }
                if links.contains(through) || inTarget == .symlink {
                    throw ExtractError.unsafeEntry(path: "files/" + path, reason: "it is a symbolic link to \(target), which passes through the link \(through); pgseal does not extract chains of links")
                }
            }
        }
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

    /// The longest path an entry may have (Linux's PATH_MAX): a deeper tree would be walked,
    /// and removed again on failure, one directory a step.
    static let maxPathBytes = 4096

    static func relativePath(_ path: String, entry: String) throws -> String {
        let trimmed = path.hasSuffix("/") ? String(path.dropLast()) : path
        guard trimmed.utf8.count <= maxPathBytes else {
            throw ExtractError.unsafeEntry(path: String(entry.prefix(200)) + "…", reason: "its path is longer than \(maxPathBytes) bytes")
        }
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

    /// Writes the entry's data to `descriptor` (closed here) and makes it durable.
    private static func writeFile(_ tar: TarReader, to descriptor: Int32, path: String) throws -> (Int64, String) {
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
}
