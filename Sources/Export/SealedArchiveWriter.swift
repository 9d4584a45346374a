import ArchiveFormat
import ByteStreams
import Cryptography
import Foundation
import ObjectStore

/// One archive object as it is written, for table exports and sealed files alike:
/// tar (+ compression) → age (when there are recipients) → SHA-256 → the store, published only
/// by `finish`, which then writes the `.sha256`, the seal and — last — the seal's signature.
package final class SealedArchiveWriter {
    let store: ObjectStore
    package let key: String
    package let tar: TarWriter
    package let encrypted: Bool
    package let profile: String
    let started: Date
    private let object: ObjectWriter
    private let hashing: HashingSink

    package var basename: String { (key as NSString).lastPathComponent }

    /// `signed`: a seal will be written, so the series is read — once here, so that a store
    /// that cannot be read fails the export before any row is, and again when sealing.
    /// `key`: the object's key when the caller names it (a part of a partitioned archive).
    package init(store: ObjectStore, naming: ObjectNaming, key givenKey: String? = nil, compression: Compression, recipients: [AgeRecipient], signed: Bool) throws {
        self.store = store
        profile = naming.profile
        started = naming.time
        if signed { _ = try SeriesTip.link(in: store, profile: naming.profile, excluding: "") }
        let modificationTime = Int(naming.time.timeIntervalSince1970)
        encrypted = !recipients.isEmpty
        key = givenKey ?? naming.objectKey(extension: Self.suffix(compression: compression, encrypted: encrypted))
        object = try store.createObject(key: key)
        hashing = HashingSink(object)
        do {
            let tarOutput: ByteSink = encrypted ? try AgeEncryptingSink(hashing, recipients: recipients) : hashing
            tar = try TarWriter(sink: tarOutput, compression: compression, modificationTime: modificationTime)
        } catch {
            object.abort()
            throw error
        }
    }

    /// Streams `manifest` into the tar as its last entry and returns its SHA-256.
    func addManifest(_ manifest: SpoolFile) throws -> Digest {
        let hasher = SHA256Hasher()
        try manifest.rewind()
        try tar.addFile(path: Manifest.entryPath, size: manifest.size) { write in
            try manifest.forEachBlock(size: 256 * 1024) { block in
                hasher.update(block)
                try write(block)
            }
        }
        return hasher.finalize()
    }

    /// Ends the tar and publishes the object, its `.sha256`, and when there is a signing key,
    /// the seal `makeSeal` returns for the object's size and SHA-256 — linked to the series'
    /// newest seal and timed by this writer — then its signature.
    package func finish(signingKey: SSHSigningKey?, link: SeriesLink = .newestInSeries,
                        makeSeal: (_ size: Int64, _ sha256: Digest) -> SealDocument) throws -> (size: Int64, sha256: Digest) {
        // Before the object is published: a store that cannot be listed fails the export
        // while nothing is under the final name yet.
        let previous: SealChain.Link?
        switch link {
        case .newestInSeries: previous = signingKey == nil ? nil : try SeriesTip.link(in: store, profile: profile, excluding: key)
        case .given(let given): previous = given
        }
        let (size, digest) = try finishUnsealed()
        if let signingKey {
            var seal = makeSeal(size, digest)
            seal.chain = SealChain(previous: previous)
            seal.durationSeconds = (Date().timeIntervalSince(started) * 1000).rounded() / 1000
            try Self.publish(seal, of: key, in: store, signingKey: signingKey)
        }
        return (size, digest)
    }

    /// What the seal links to: the newest seal of the profile's series (an archive of tables),
    /// or a link the caller knows (a change segment: its previous segment, or its base).
    package enum SeriesLink {
        case newestInSeries
        case given(SealChain.Link?)
    }

    /// Writes `<key>.seal`, then its signature `<key>.seal.sig` — last: an archive with a
    /// signature is complete.
    static func publish(_ seal: SealDocument, of key: String, in store: ObjectStore, signingKey: SSHSigningKey) throws {
        let sealBytes = try seal.encoded()
        try store.put(key: key + ".seal", contents: sealBytes)
        let signature = try SSHSignature.sign(sealBytes, namespace: SealDocument.signatureNamespace, key: signingKey)
        try store.put(key: key + ".seal.sig", contents: Array(signature.utf8))
    }

    /// Ends the tar and publishes the object and its `.sha256`, and no seal (a part of a
    /// partitioned archive, or an unsigned export).
    func finishUnsealed() throws -> (size: Int64, sha256: Digest) {
        try tar.close()
        guard let digest = hashing.digest else { throw ExportError.internalInvariant("the object's digest is missing after its end") }
        try store.put(key: key + ".sha256", contents: Array("\(digest.hex)  \(basename)\n".utf8))
        return (hashing.count, digest)
    }

    package func abort() { object.abort() }

    /// `.tar.zst.age` and the like: what the object's name ends with.
    package static func suffix(compression: Compression, encrypted: Bool) -> String {
        ".tar" + compression.fileExtension + (encrypted ? ".age" : "")
    }
}
