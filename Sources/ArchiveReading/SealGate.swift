import ArchiveFormat
import ByteStreams
import CanonicalJSON
import Cryptography
import Display
import Foundation
import ObjectStore

/// Whom to believe: the trusted signers (an `allowed_signers` file, a revocation list), the
/// principal a seal must be signed as, and whether an archive without a seal may be read at all.
public struct TrustPolicy: Sendable {
    public var signers: AllowedSigners
    /// As `ssh-keygen -Y verify -I`: when set, only entries naming it count.
    public var principal: String?
    /// `--insecure-unsigned`: an archive with no `.seal`/`.seal.sig` is read anyway, its bytes
    /// still parsed under every bound, its SQL (filters) still refused. A seal that is present
    /// but does not verify is never accepted.
    public var allowUnsigned = false
    public var time = Date()

    public init(signers: AllowedSigners, principal: String? = nil, allowUnsigned: Bool = false) {
        self.signers = signers
        self.principal = principal
        self.allowUnsigned = allowUnsigned
    }
}

/// Why an archive is not believed: exit 1, each naming its place.
public struct SealProblem: Error, CustomStringConvertible, IntegrityViolation {
    public let location: String
    public let problem: String
    public var isIntegrityFailure: Bool { true }
    public var description: String { "\(location): \(problem)" }

    public init(location: String, problem: String) {
        self.location = location
        self.problem = problem
    }
}

/// Refused before any byte was read (exit 2): no trusted signer given.
public enum GateError: Error, CustomStringConvertible {
    case noTrustedSigners(String)

    public var description: String {
        switch self {
        case .noTrustedSigners(let archive):
            "\(archive): no trusted signer to check its seal against (an allowed_signers file), and reading an archive whose origin cannot be checked was not allowed"
        }
    }
}

/// The one gate every reader of an archive's contents passes: the seal's SSHSIG is checked
/// against the trusted signers before any byte of the object is interpreted, and the object is
/// then held to the seal's size and SHA-256 while it streams.
package struct GatedArchive {
    package let location: ArchiveLocation
    /// Nil only for an archive without a seal, read under `--insecure-unsigned`.
    public let seal: SealDocument?
    package let signer: SSHSignature.Signer?
    /// SHA-256 of the seal's bytes: what attestations and the next seal of the series bind to.
    public var sealSHA256: String? = nil
    public let limits: ReadLimits

    /// Checks the seal of `location`; throws `SealProblem` (exit 1) when it does not verify.
    package static func open(_ location: ArchiveLocation, policy: TrustPolicy, limits: ReadLimits = ReadLimits()) throws -> GatedArchive {
        // Not finding the archive, or being handed its sidecar, is no accusation (exit 2).
        for sidecar in [".seal.sig", ".seal", ".sha256"] where location.key.hasSuffix(sidecar) {
            throw StoreError.invalidLocation(location.display, reason: "this is an archive's \(sidecar) file; give the archive itself (the name without \(sidecar))")
        }
        // A partitioned archive has no object of its own: its seal names the parts.
        let hasObject = try location.store.presence(of: location.key)
        guard try hasObject || location.store.presence(of: location.key + ".seal") else { throw StoreError.notFound(path: location.display) }
        let sealBytes = try boundedSidecar(".seal", of: location)
        let signature = try boundedSidecar(".seal.sig", of: location)
        guard let sealBytes, let signature else {
            if policy.allowUnsigned { return GatedArchive(location: location, seal: nil, signer: nil, limits: limits) }
            let missing = sealBytes == nil ? ".seal" : ".seal.sig"
            throw SealProblem(location: String(missing.dropFirst()), problem: "\(Terminal.escaped(location.display))\(missing) is missing: an archive without a signed seal is an interrupted or unsigned export (--insecure-unsigned reads it anyway)")
        }
        if policy.signers.isEmpty && policy.allowUnsigned {
            return GatedArchive(location: location, seal: nil, signer: nil, limits: limits)
        }
        guard !policy.signers.isEmpty else { throw GateError.noTrustedSigners(location.display) }
        let signed = try SignedSeal.check(sealBytes: sealBytes, signature: signature, objectName: location.name, policy: policy)
        if signed.seal.isPartitioned && hasObject {
            throw SealProblem(location: "seal", problem: "a partitioned archive's seal lies beside an object of the same name, which no export writes")
        }
        // Removed with prune (or by hand), the seal kept: nothing to read.
        guard hasObject || signed.seal.isPartitioned else { throw StoreError.notFound(path: location.display) }
        return GatedArchive(location: location, seal: signed.seal, signer: signed.signer, sealSHA256: signed.sha256, limits: limits)
    }

    /// A seal or its signature, read whole under the bound on sidecars: one past it is a bad
    /// archive (exit 1, at its place), not a failure to read.
    private static func boundedSidecar(_ suffix: String, of location: ArchiveLocation) throws -> [UInt8]? {
        do {
            return try location.sidecar(suffix)
        } catch let error as StoreError {
            guard case .tooLarge = error else { throw error }
            throw SealProblem(location: String(suffix.dropFirst()), problem: "\(error)")
        }
    }

    /// Whether this is a partitioned archive (docs/FORMAT.md §10), read part by part.
    public var isPartitioned: Bool { seal?.isPartitioned ?? false }

    /// Part `part` of this partitioned archive, gated by the seal that lists it: its object is
    /// held to the part's size and SHA-256 as a single archive is to its seal's.
    public func gatedPart(_ part: SealPart, number index: Int, of count: Int) throws -> GatedArchive {
        guard let seal else { throw SealProblem(location: "seal", problem: "an unsealed archive has no parts") }
        let directory = (location.key as NSString).deletingLastPathComponent
        let key = directory.isEmpty ? part.object : directory + "/" + part.object
        guard !part.object.contains("/"), PartNaming.archiveKey(ofPart: key) == location.key,
              let position = PartNaming.position(ofPart: key), position.index == index, position.count == count else {
            throw SealProblem(location: "seal", problem: "part \(index + 1) is named \(Terminal.escaped(part.object)), not part \(index + 1) of \(count) of \(Terminal.escaped(location.name))")
        }
        return GatedArchive(location: ArchiveLocation(store: location.store, key: key), seal: seal.seal(ofPart: part), signer: signer,
                            sealSHA256: sealSHA256, limits: limits)
    }

    /// The object's bytes, held to the seal: more bytes than it states stop the read at once;
    /// at the end, the size and SHA-256 must be the seal's.
    public func openObject() throws -> SealBoundSource {
        guard !isPartitioned else { throw PartitionedArchiveError.notReadHere(location.display) }
        return SealBoundSource(try location.open(), seal: seal)
    }

    /// The tar stream over `object`: decrypted when the archive is, and bounded in how much it
    /// may expand to.
    package func tar(over object: SealBoundSource, keys: AgeKeyring) throws -> TarReader {
        try tar(overPlaintext: try location.plaintext(of: object, keys: keys))
    }

    /// The tar stream over an already decrypted (or unencrypted) source of this archive.
    package func tar(overPlaintext plain: ByteSource) throws -> TarReader {
        try TarReader(source: plain, limit: limits.plaintextBudget(objectSize: seal?.size))
    }

    /// Runs `body`, which reads `object`; when it fails, the rest of the object is read and held
    /// to the seal: if the object is not the sealed one, that — tampering, exit 1 — is the
    /// error, whatever the layers above made of the altered bytes.
    public func reading<T>(_ object: SealBoundSource, _ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch {
            if let problem = error.sealProblem { throw problem }
            if seal != nil {
                do { try object.finish() } catch let problem as SealProblem { throw problem } catch {}
            }
            throw error
        }
    }

    /// Opens `archive` through the gate for a reader that decrypts it: an encrypted archive
    /// without a key is refused here, before any byte of it is read.
    public static func openDecrypting(_ archive: String, store: StoreSettings, policy: TrustPolicy, limits: ReadLimits, keys: AgeKeyring) throws -> GatedArchive {
        let location = try ArchiveLocation(archive, settings: store)
        let gated = try open(location, policy: policy, limits: limits)
        if location.isEncrypted && keys.isEmpty { throw ArchiveAccessError.missingIdentity(archive) }
        return gated
    }

    /// A fresh pass over the archive's tar stream.
    package func openTar(keys: AgeKeyring) throws -> (TarReader, SealBoundSource) {
        let object = try openObject()
        return (try tar(over: object, keys: keys), object)
    }
}

/// The bounds on what reading one archive may cost, whatever its bytes say.
public struct ReadLimits: Sendable {
    /// The longest row (a JSON line) accepted: a longer one is an error naming its place.
    public var maxRowBytes = RowLimit.defaultBytes
    /// The tar stream may be at most this many times the object's size (zstd reaches ~30,000×
    /// on hostile input; JSON Lines compress 5–20×), and never less than `plaintextFloor`.
    public var maxExpansion: Int64 = 1000
    public var plaintextFloor: Int64 = 1 << 30

    public init() {}

    func plaintextBudget(objectSize: Int64?) -> Int64? {
        guard let objectSize else { return nil }
        let (product, overflow) = objectSize.multipliedReportingOverflow(by: maxExpansion)
        return overflow ? Int64.max : max(product, plaintextFloor)
    }
}

/// An object's bytes checked against its seal as they stream.
package final class SealBoundSource: ByteSource {
    private let source: ByteSource
    private let hasher = SHA256Hasher()
    private let seal: SealDocument?
    public private(set) var count: Int64 = 0
    package private(set) var digest: Digest?

    init(_ source: ByteSource, seal: SealDocument?) {
        self.source = source
        self.seal = seal
    }

    public func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        if digest != nil { return 0 }
        // Past the sealed size nothing more is taken from the source, however often asked.
        if let seal, count > seal.size { throw extended(seal) }
        let n = try source.read(into: buffer)
        count += Int64(n)
        if let seal, count > seal.size { throw extended(seal) }
        hasher.update(UnsafeRawBufferPointer(rebasing: buffer[0..<n]))
        // At the end the digest is kept, not judged: the layer above (age's last chunk) must
        // first say what it found in the last bytes; `finish` judges.
        if n == 0 { digest = hasher.finalize() }
        return n
    }

    private func extended(_ seal: SealDocument) -> SealProblem {
        SealProblem(location: "object", problem: "more than the \(seal.size) bytes the seal states: the object was extended or replaced")
    }

    private func check(_ digest: Digest) throws {
        guard let seal else { return }
        if count != seal.size {
            throw SealProblem(location: "object", problem: "\(count) bytes, the seal says \(seal.size): the object was truncated or extended")
        }
        if digest.hex != seal.sha256 {
            throw SealProblem(location: "object", problem: "SHA-256 \(digest.hex) differs from the seal's \(seal.sha256): the object was altered")
        }
    }

    /// Reads what is left (the readers above may stop at the tar's end marker) and checks the
    /// whole object against the seal.
    @discardableResult
    package func finish() throws -> Digest {
        if digest == nil { try forEachBlock(size: 256 * 1024) { _ in } }
        let digest = self.digest ?? hasher.finalize()
        self.digest = digest
        try check(digest)
        return digest
    }
}

extension Error {
    /// The seal problem behind an error of a layer above the object (tar, age), if that is what
    /// it was.
    public var sealProblem: SealProblem? {
        if let problem = self as? SealProblem { return problem }
        if let archive = self as? ArchiveError { return archive.underlying?.sealProblem }
        return nil
    }
}

/// A partitioned archive given to a reader that reads one object (exit 2).
public enum PartitionedArchiveError: Error, CustomStringConvertible {
    case notReadHere(String)

    public var description: String {
        switch self {
        case .notReadHere(let archive):
            "\(Terminal.escaped(archive)) is a partitioned archive (docs/FORMAT.md §10), which this command does not read: verify, diff, restore, recover, inspect and replicate read every part of it"
        }
    }
}
