import Foundation
import ObjectStore

/// A directory opened without following links, owning its descriptor (closed in `deinit`).
/// Everything `extract` does below the target goes through these: each path component is opened
/// relative to its parent's descriptor with `O_NOFOLLOW`, files are created with `openat`,
/// links with `symlinkat`, moved with `linkat`/`renameat`, modes and times set on descriptors.
/// Checking a path and then acting on it cannot be made safe when someone else can write the
/// directory (docs/SECURITY.md, "A local path is a race"); working from opened descriptors can:
/// a directory replaced by a link while pgseal works is refused when it is next opened, and
/// nothing is ever written through it.
final class DirectoryHandle {
    let descriptor: Int32
    /// For messages only: where this directory was when it was opened.
    let path: String

    enum Kind { case directory, file, symlink, other }

    /// Opens `path` — the target the user named, whose own links are the user's choice.
    init(opening path: String) throws {
        let descriptor = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard descriptor >= 0 else { throw StoreError.io(operation: "open directory", path: path, errno: errno) }
        self.descriptor = descriptor
        self.path = path
    }

    private init(descriptor: Int32, path: String) {
        self.descriptor = descriptor
        self.path = path
    }

    deinit { close(descriptor) }

    func location(_ name: String) -> String { path + "/" + name }

    /// What `name` is here, without following a link; nil when nothing is there.
    func kind(of name: String) throws -> Kind? {
        var info = stat()
        guard fstatat(descriptor, name, &info, AT_SYMLINK_NOFOLLOW) == 0 else {
            if errno == ENOENT { return nil }
            throw StoreError.io(operation: "stat", path: location(name), errno: errno)
        }
        switch info.st_mode & S_IFMT {
        case S_IFDIR: return .directory
        case S_IFREG: return .file
        case S_IFLNK: return .symlink
        default: return .other
        }
    }

    /// The child directory `name`, made (mode 0700) first when `create` and absent. A link, a
    /// file or anything else under that name is refused.
    func directory(_ name: String, create: Bool) throws -> DirectoryHandle {
        if create, mkdirat(descriptor, name, 0o700) != 0, errno != EEXIST {
            throw StoreError.io(operation: "create directory", path: location(name), errno: errno)
        }
        let child = openat(descriptor, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
        guard child >= 0 else {
            let code = errno
            if code == ELOOP || code == ENOTDIR { throw ExtractError.obstacle(location(name), try kind(of: name)) }
            throw StoreError.io(operation: "open directory", path: location(name), errno: code)
        }
        return DirectoryHandle(descriptor: child, path: location(name))
    }

    /// The directory at `components` below this one, each opened as `directory(_:create:)` does.
    func walk<S: Sequence>(_ components: S, create: Bool) throws -> DirectoryHandle where S.Element: StringProtocol {
        var current = self
        for component in components { current = try current.directory(String(component), create: create) }
        return current
    }

    /// A new regular file (never an existing one, never through a link), open for writing.
    func createFile(_ name: String) throws -> Int32 {
        let file = openat(descriptor, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600)
        guard file >= 0 else { throw StoreError.io(operation: "create", path: location(name), errno: errno) }
        return file
    }

    func symlink(_ target: String, named name: String) throws {
        guard symlinkat(target, descriptor, name) == 0 else { throw StoreError.io(operation: "create link", path: location(name), errno: errno) }
    }

    /// Moves `name` to `other`/`otherName`. Without `replace`, an existing entry there is never
    /// replaced, however late it appeared: the entry is hard-linked under the new name (which
    /// fails if the name is taken) and then unlinked here.
    func move(_ name: String, to other: DirectoryHandle, as otherName: String, replace: Bool) throws {
        if replace {
            guard renameat(descriptor, name, other.descriptor, otherName) == 0 else {
                throw StoreError.io(operation: "rename into place", path: other.location(otherName), errno: errno)
            }
            return
        }
        guard linkat(descriptor, name, other.descriptor, otherName, 0) == 0 else {
            let code = errno
            if code == EEXIST {
                throw ExtractError.obstacle(other.location(otherName), try other.kind(of: otherName), needed: "nothing (it appeared while pgseal extracted)")
            }
            throw StoreError.io(operation: "link into place", path: other.location(otherName), errno: code)
        }
        guard unlinkat(descriptor, name, 0) == 0 else { throw StoreError.io(operation: "remove", path: location(name), errno: errno) }
    }

    /// Sets this directory's mode (setuid and setgid dropped) and modification time.
    func apply(mode: Int32, mtime: Int?) throws {
        try Self.apply(mode: mode, mtime: mtime, to: descriptor, path: path)
    }

    /// Sets the mode and time of the regular file `name`, opened without following a link.
    func applyToFile(_ name: String, mode: Int32, mtime: Int?) throws {
        let file = openat(descriptor, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)
        guard file >= 0 else { throw StoreError.io(operation: "open", path: location(name), errno: errno) }
        defer { close(file) }
        try Self.apply(mode: mode, mtime: mtime, to: file, path: location(name))
    }

    /// The time of the link `name` itself.
    func setLinkTime(_ name: String, mtime: Int) throws {
        var times = [timespec(tv_sec: mtime, tv_nsec: 0), timespec(tv_sec: mtime, tv_nsec: 0)]
        guard utimensat(descriptor, name, &times, AT_SYMLINK_NOFOLLOW) == 0 else {
            throw StoreError.io(operation: "set times", path: location(name), errno: errno)
        }
    }

    private static func apply(mode: Int32, mtime: Int?, to descriptor: Int32, path: String) throws {
        guard fchmod(descriptor, mode_t(mode & 0o1777)) == 0 else { throw StoreError.io(operation: "chmod", path: path, errno: errno) }
        if let mtime {
            var times = [timespec(tv_sec: mtime, tv_nsec: 0), timespec(tv_sec: mtime, tv_nsec: 0)]
            guard futimens(descriptor, &times) == 0 else { throw StoreError.io(operation: "set times", path: path, errno: errno) }
        }
    }

    /// Removes `name` and everything below it, never following a link (a link is removed, not
    /// what it points to). Best effort: for cleaning up pgseal's own staging directory.
    func removeTree(_ name: String) {
        if (try? kind(of: name)) == .directory, let child = try? directory(name, create: false) {
            for entry in child.entries() { child.removeTree(entry) }
            unlinkat(descriptor, name, AT_REMOVEDIR)
        } else {
            unlinkat(descriptor, name, 0)
        }
    }

    /// The names in this directory, without `.` and `..`.
    func entries() -> [String] {
        let copy = dup(descriptor)
        guard copy >= 0, let stream = fdopendir(copy) else { return [] }
        defer { closedir(stream) }
        var names: [String] = []
        while let entry = readdir(stream) {
            let name = withUnsafePointer(to: &entry.pointee.d_name) {
                $0.withMemoryRebound(to: CChar.self, capacity: Int(NAME_MAX) + 1) { String(cString: $0) }
            }
            if name != ".", name != ".." { names.append(name) }
        }
        return names
    }
}
