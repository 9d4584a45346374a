import ByteStreams
import Foundation

/// Where archives live: a local directory now, S3 later. Keys are `/`-separated relative
/// names such as `kessan-user-data/2026/11/24/kessan-user-data-20261124T180000Z.tar.zst`.
package protocol ObjectStore: AnyObject {
    /// A writer for a new object; nothing appears under `key` until the writer is closed.
    func createObject(key: String) throws -> ObjectWriter
    /// Writes a small object (a sidecar) atomically.
    func put(key: String, contents: [UInt8]) throws
    func open(key: String) throws -> ByteSource
    func exists(key: String) -> Bool
    /// Whether `key` exists, telling "no such object" (false) from a store that could not
    /// answer (an error: wrong credentials, no network) — which `exists` cannot.
    func presence(of key: String) throws -> Bool
    /// The URL or path that names `key` for users (printed by `export`).
    func location(of key: String) -> String
    /// Objects being written, or left half-written by a killed writer, under `prefix`:
    /// incomplete multipart uploads in S3, hidden `.partial-` files on disk.
    func pendingUploads(under prefix: String) throws -> [PendingUpload]
    /// Removes one of them: AbortMultipartUpload, or unlinking the partial file.
    func cancel(_ upload: PendingUpload) throws
    /// Every complete object under `prefix` (relative keys), with its size.
    func list(prefix: String) throws -> [(key: String, size: Int64)]
    /// Deletes `keys` in the order given; returns those that could not be deleted, with why.
    /// A key that does not exist counts as deleted (pruning twice is not an error).
    func delete(keys: [String]) throws -> [(key: String, reason: String)]
    /// Until when a retention rule (S3 Object Lock, or a legal hold: `.distantFuture`) keeps
    /// `key` from being deleted; nil when nothing does.
    func retainedUntil(key: String) throws -> Date?
}

/// An object that is not (yet) one: what `pendingUploads` finds.
package struct PendingUpload: Sendable, Codable {
    /// The key the object would have had.
    package let key: String
    package let started: Date
    /// What `cancel` needs: the S3 upload id, or the partial file's path.
    package let handle: String

    package init(key: String, started: Date, handle: String) {
        self.key = key
        self.started = started
        self.handle = handle
    }
}

extension ObjectStore {
    /// A small object's bytes (a seal, a signature, an attestation), refused past `limit`
    /// whatever the store holds: such files come from outside and are read whole.
    package func readSmall(key: String, limit: Int = 1 << 20) throws -> [UInt8] {
        var bytes: [UInt8] = []
        try open(key: key).forEachBlock(size: 64 * 1024) { block in
            guard bytes.count + block.count <= limit else { throw StoreError.tooLarge(path: location(of: key), limit: limit) }
            bytes.append(contentsOf: block)
        }
        return bytes
    }

    /// Removes what killed writers left under `prefix` more than `age` seconds ago, and returns
    /// how many.
    package func removeStaleUploads(under prefix: String, olderThan age: TimeInterval) throws -> Int {
        let cutoff = Date().addingTimeInterval(-age)
        let stale = try pendingUploads(under: prefix).filter { $0.started < cutoff }
        for upload in stale { try cancel(upload) }
        return stale.count
    }
}

/// A `ByteSink` for one new object. `close` publishes it under its final name; `abort`, or
/// dropping the writer without closing it, leaves nothing behind.
package protocol ObjectWriter: ByteSink {
    func abort()
}

/// Opens a store from its command-line form: `s3://bucket/prefix/` or a local directory, reached
/// as `settings` say; a writer registers what it would leave behind with `cleanup`. A missing directory is made only for a store that is written to (`create`).
package func openStore(_ location: String, settings: StoreSettings, create: Bool = false, cleanup: CleanupRegistry? = nil) throws -> ObjectStore {
    guard location.hasPrefix("s3://") else { return try LocalStore(root: location, create: create, cleanup: cleanup) }
    try settings.validate(for: location)
    let caBundle = settings.effectiveCABundle
    if let caBundle, !FileManager.default.isReadableFile(atPath: caBundle) {
        throw StoreError.invalidLocation(location, reason: "the CA bundle \(caBundle) cannot be read")
    }
    let region = settings.effectiveRegion
    let s3 = try S3Location(url: location, endpoint: settings.effectiveEndpoint, region: region)
    return S3Store(client: try S3Client(location: s3, credentials: try settings.credentialProvider(region: region), caBundle: caBundle),
                   partSize: settings.partSize, partsPerTier: settings.partsPerTier, concurrency: settings.concurrency, options: settings.objectOptions, cleanup: cleanup)
}
