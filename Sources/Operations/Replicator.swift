import ArchiveFormat
import ArchiveReading
import ByteStreams
import Cryptography
import Foundation
import ObjectStore

/// `pgseal replicate`: copies a sealed archive to another store — another bucket or region by
/// server-side copy (UploadPartCopy past 5 GiB), anywhere else by a streamed copy — then
/// proves the copy by reading it back: its SHA-256 and size must be the signed seal's. The
/// sidecars follow, the seal's signature last, so the copy counts as an archive only once it
/// is whole.
public struct Replicator {
    public struct Request: Sendable {
        public var archive: String
        public var destination: String
        /// How the source's store is reached.
        public var sourceSettings: StoreSettings
        /// How the destination's store is reached: the source's settings, in another region
        /// when one is given.
        public var destinationSettings: StoreSettings
        public var policy: TrustPolicy
        /// Server-side copies of objects larger than this go part by part (tests lower it).
        public var singleCopyLimit: Int64 = S3Store.singleCopyLimit
        public var copyPartSize: Int64 = 512 << 20

        public init(archive: String, destination: String, region: String? = nil, policy: TrustPolicy, storeSettings: StoreSettings) {
            self.archive = archive
            self.destination = destination
            self.policy = policy
            sourceSettings = storeSettings
            destinationSettings = storeSettings
            if let region { destinationSettings.region = region }
            // A smaller copy part size (a test, or a store with other limits) takes the
            // part-by-part path with smaller objects.
            if let size = storeSettings.copyPartSize {
                singleCopyLimit = size
                copyPartSize = size
            }
        }
    }

    public struct Outcome: Codable, Sendable {
        public let source: String
        public let destination: String
        public let method: String  // server-side copy, multipart server-side copy, streamed copy, already there
        public let bytes: Int64
        public let sha256: String
        public let seconds: Double
    }

    /// The copy is not the sealed object: an integrity failure (exit 1).
    public struct CopyMismatch: Error, IntegrityViolation, CustomStringConvertible {
        public let description: String
        public var isIntegrityFailure: Bool { true }
    }

    package static func run(_ request: Request) throws -> Outcome {
        let started = Date()
        let source = try ArchiveLocation(request.archive, settings: request.sourceSettings)
        var policy = request.policy
        policy.allowUnsigned = false  // only sealed archives are replicated
        let gated: GatedArchive
        do { gated = try GatedArchive.open(source, policy: policy) } catch let problem as SealProblem {
            throw CopyMismatch(description: "\(request.archive): \(problem) — the source is not replicated")
        }
        guard let seal = gated.seal else { throw CopyMismatch(description: "\(request.archive) has no signed seal") }
        let destination = try openStore(request.destination, settings: request.destinationSettings, create: true)
        let key = destinationKey(source.key, profile: seal.profile)

        // The objects to copy: the archive, or each part of a partitioned one (the parts first,
        // the seal and its signature last, so that the copy is complete only when all is there).
        var objects: [(location: ArchiveLocation, key: String, seal: SealDocument)] = [(source, key, seal)]
        if let parts = seal.parts {
            objects = try parts.enumerated().map { index, part in
                let gatedPart = try gated.gatedPart(part, number: index, of: parts.count)
                return (gatedPart.location, destinationKey(gatedPart.location.key, profile: seal.profile), seal.seal(ofPart: part))
            }
        }
        var method = "already there"
        for object in objects {
            if try !copyIsProven(destination, key: object.key, seal: object.seal) {
                if destination.exists(key: object.key) {
                    throw StoreError.alreadyExists(path: destination.location(of: object.key) + " (with other content than the seal's; pgseal never overwrites)")
                }
                method = try copy(object.location, to: destination, key: object.key, seal: object.seal, request: request)
                guard try copyIsProven(destination, key: object.key, seal: object.seal) else {
                    _ = try? destination.delete(keys: [object.key])
                    throw CopyMismatch(description: "the copy at \(destination.location(of: object.key)) is not the sealed object (size or SHA-256 differ); it was removed")
                }
            }
            if seal.isPartitioned {
                for suffix in [".sha256", ".receipt"] {
                    guard let bytes = try object.location.sidecar(suffix) else { continue }
                    try destination.put(key: object.key + suffix, contents: bytes)
                }
            }
        }
        for suffix in [".sha256", ".seal", ".seal.sig"] {
            guard let bytes = try source.sidecar(suffix) else { continue }
            try destination.put(key: key + suffix, contents: bytes)
        }
        try copyAttestations(of: source, to: destination, key: key)
        return Outcome(source: request.archive, destination: destination.location(of: key), method: method,
                       bytes: seal.size, sha256: seal.sha256, seconds: Date().timeIntervalSince(started))
    }

    /// The recorded verifications travel with the archive (each signature after its document):
    /// they are bound to the seal, which the copy keeps byte for byte, so they hold there too.
    static func copyAttestations(of source: ArchiveLocation, to destination: ObjectStore, key: String) throws {
        let listing = try source.store.list(prefix: source.key + Attestation.keyInfix).map(\.key)
        let present = Set(listing)
        for document in listing.sorted() where Attestation.objectKey(ofDocument: document) == source.key && present.contains(document + ".sig") {
            let target = key + document.dropFirst(source.key.count)
            guard !destination.exists(key: target + ".sig") else { continue }
            if destination.exists(key: target) { _ = try destination.delete(keys: [target]) }
            try destination.put(key: target, contents: try source.store.readSmall(key: document))
            try destination.put(key: target + ".sig", contents: try source.store.readSmall(key: document + ".sig", limit: 64 * 1024))
        }
    }

    /// The archive's key below its profile (`profile/2026/11/24/name`) keeps the store's layout.
    static func destinationKey(_ sourceKey: String, profile: String) -> String {
        let components = sourceKey.split(separator: "/").map(String.init)
        guard let start = components.lastIndex(of: profile) else { return components.last ?? sourceKey }
        return components[start...].joined(separator: "/")
    }

    static func copy(_ source: ArchiveLocation, to destination: ObjectStore, key: String, seal: SealDocument, request: Request) throws -> String {
        if let from = source.store as? S3Store, let to = destination as? S3Store, from.sharesService(with: to) {
            try to.copy(from: from, key: source.key, to: key, size: seal.size,
                        singleCopyLimit: request.singleCopyLimit, partSize: request.copyPartSize)
            return seal.size > request.singleCopyLimit ? "multipart server-side copy" : "server-side copy"
        }
        let writer = try destination.createObject(key: key)
        do {
            try source.open().forEachBlock(size: 1 << 20) { try writer.write($0) }
            try writer.close()
        } catch {
            writer.abort()
            throw error
        }
        return "streamed copy"
    }

    /// Whether `key` holds exactly the sealed object, read back from the destination.
    static func copyIsProven(_ store: ObjectStore, key: String, seal: SealDocument) throws -> Bool {
        guard store.exists(key: key) else { return false }
        let reader = HashingSource(try store.open(key: key))
        let digest = try reader.finish()
        return reader.count == seal.size && digest.hex == seal.sha256
    }
}
