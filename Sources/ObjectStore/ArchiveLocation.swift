import ByteStreams
import Foundation
import Seal

/// An archive named on the command line — a path or `s3://bucket/key` — with the store that
/// holds it, so that every reader (verify, diff, restore, inspect) streams it the same way
/// from either place.
public struct ArchiveLocation {
    public let store: ObjectStore
    public let key: String
    /// As the user wrote it, for messages and reports.
    public let display: String

    public init(_ location: String, environment: [String: String] = ProcessInfo.processInfo.environment) throws {
        display = location
        if !location.hasPrefix("s3://"), !FileManager.default.fileExists(atPath: (location as NSString).expandingTildeInPath) {
            throw StoreError.notFound(path: location)
        }
        (store, key) = try Self.resolve(location, environment: environment)
    }

    /// The store and key that `location` (a path or `s3://bucket/key`) names, whether or not an
    /// object is there yet: also where `encrypt -o` and `decrypt -o` write.
    public static func resolve(_ location: String, environment: [String: String] = ProcessInfo.processInfo.environment) throws -> (ObjectStore, String) {
        if location.hasPrefix("s3://") {
            let path = location.dropFirst(5)
            guard let slash = path.firstIndex(of: "/"), path.index(after: slash) < path.endIndex else {
                throw StoreError.invalidLocation(location, reason: "an object is s3://bucket/key")
            }
            return (try openStore("s3://" + path[..<slash] + "/", environment: environment), String(path[path.index(after: slash)...]))
        }
        let absolute = (location as NSString).expandingTildeInPath
        let directory = (absolute as NSString).deletingLastPathComponent
        return (try LocalStore(root: directory.isEmpty ? "." : directory), (absolute as NSString).lastPathComponent)
    }

    public var name: String { (key as NSString).lastPathComponent }
    public var isEncrypted: Bool { key.hasSuffix(".age") }

    public func open() throws -> ByteSource { try store.open(key: key) }

    /// The plaintext of `source` (this archive's bytes, possibly through a hashing layer): the
    /// age layer is added when the archive is encrypted.
    public func plaintext(of source: ByteSource, keys: AgeKeyring) throws -> ByteSource {
        isEncrypted ? try AgeDecryptingSource(source, keys: keys) : source
    }

    /// The archive's tar stream, decrypted when needed.
    public func openPlaintext(keys: AgeKeyring) throws -> ByteSource { try plaintext(of: try open(), keys: keys) }

    /// A small file beside the archive (`.seal`, `.seal.sig`, `.sha256`), or nil when it does not exist.
    public func sidecar(_ suffix: String, limit: Int = 1 << 20) throws -> [UInt8]? {
        guard store.exists(key: key + suffix) else { return nil }
        var bytes: [UInt8] = []
        try store.open(key: key + suffix).forEachBlock(size: 64 * 1024) { block in
            guard bytes.count + block.count <= limit else { throw StoreError.invalidLocation(display + suffix, reason: "larger than \(limit) bytes") }
            bytes.append(contentsOf: block)
        }
        return bytes
    }
}
