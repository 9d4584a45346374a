import ByteStreams
import Cryptography
import Foundation

/// An archive named on the command line — a path or `s3://bucket/key` — with the store that
/// holds it, so that every reader (verify, diff, restore, inspect) streams it the same way
/// from either place.
package struct ArchiveLocation {
    package let store: ObjectStore
    package let key: String
    /// As the user wrote it, for messages and reports.
    package let display: String

    package init(_ location: String, settings: StoreSettings) throws {
        display = location
        // A partitioned archive is named by its seal's object, which has no file of its own.
        let path = (location as NSString).expandingTildeInPath
        if !location.hasPrefix("s3://"), !FileManager.default.fileExists(atPath: path), !FileManager.default.fileExists(atPath: path + ".seal") {
            throw StoreError.notFound(path: location)
        }
        (store, key) = try Self.resolve(location, settings: settings)
    }

    /// An object already known in `store` (from a listing).
    package init(store: ObjectStore, key: String) {
        self.store = store
        self.key = key
        self.display = store.location(of: key)
    }

    /// The store and key that `location` (a path or `s3://bucket/key`) names, whether or not an
    /// object is there yet: also where `encrypt -o` and `decrypt -o` write.
    package static func resolve(_ location: String, settings: StoreSettings, cleanup: CleanupRegistry? = nil) throws -> (ObjectStore, String) {
        if location.hasPrefix("s3://") {
            let path = location.dropFirst(5)
            guard let slash = path.firstIndex(of: "/"), path.index(after: slash) < path.endIndex else {
                throw StoreError.invalidLocation(location, reason: "an object is s3://bucket/key")
            }
            return (try openStore("s3://" + path[..<slash] + "/", settings: settings, cleanup: cleanup), String(path[path.index(after: slash)...]))
        }
        let absolute = (location as NSString).expandingTildeInPath
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: absolute, isDirectory: &isDirectory), isDirectory.boolValue {
            throw StoreError.invalidLocation(location, reason: "it is a directory; name an archive file in it (pgseal list shows them)")
        }
        let slash = absolute.lastIndex(of: "/")
        let directory = slash.map { String(absolute[..<$0]) } ?? "."
        let name = slash.map { String(absolute[absolute.index(after: $0)...]) } ?? absolute
        return (try LocalStore(root: directory.isEmpty ? "/" : directory, cleanup: cleanup), name)
    }

    package var name: String { (key as NSString).lastPathComponent }
    package var isEncrypted: Bool { key.hasSuffix(".age") }

    package func open() throws -> ByteSource { try store.open(key: key) }

    /// The plaintext of `source` (this archive's bytes, possibly through a hashing layer): the
    /// age layer is added when the archive is encrypted.
    package func plaintext(of source: ByteSource, keys: AgeKeyring) throws -> ByteSource {
        isEncrypted ? try AgeDecryptingSource(source, keys: keys) : source
    }

    /// The archive's tar stream, decrypted when needed.
    package func openPlaintext(keys: AgeKeyring) throws -> ByteSource { try plaintext(of: try open(), keys: keys) }

    /// A small file beside the archive (`.seal`, `.seal.sig`, `.sha256`), or nil when it does not exist.
    package func sidecar(_ suffix: String, limit: Int = 1 << 20) throws -> [UInt8]? {
        guard try store.presence(of: key + suffix) else { return nil }
        return try store.readSmall(key: key + suffix, limit: limit)
    }
}
