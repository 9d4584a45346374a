import ByteStreams

/// Where archives live: a local directory now, S3 later. Keys are `/`-separated relative
/// names such as `kessan-user-data/2026/11/24/kessan-user-data-20261124T180000Z.tar.zst`.
public protocol ObjectStore: AnyObject {
    /// A writer for a new object; nothing appears under `key` until the writer is closed.
    func createObject(key: String) throws -> ObjectWriter
    /// Writes a small object (a sidecar) atomically.
    func put(key: String, contents: [UInt8]) throws
    func open(key: String) throws -> ByteSource
    func exists(key: String) -> Bool
    /// The URL or path that names `key` for users (printed by `export`).
    func location(of key: String) -> String
}

/// A `ByteSink` for one new object. `close` publishes it under its final name; `abort`, or
/// dropping the writer without closing it, leaves nothing behind.
public protocol ObjectWriter: ByteSink {
    func abort()
}

/// Opens a store from its command-line form: a local directory for now.
public func openStore(_ location: String) throws -> ObjectStore {
    if location.hasPrefix("s3://") {
        throw StoreError.invalidLocation(location, reason: "S3 stores are not available in this build yet; use a local directory")
    }
    return try LocalStore(root: location)
}
