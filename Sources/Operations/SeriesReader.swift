import ArchiveFormat
import ArchiveReading
import Cryptography
import Foundation
import ObjectStore

/// One archive of a series as its signed seal and what lies beside it tell — read from the
/// listing and the small files only, never the object.
package struct SeriesEntry: Codable, Sendable {
    /// The object's key (the object may be gone: a tombstone).
    package let key: String
    package let object: String
    package let profile: String
    package let createdAt: String
    /// SHA-256 of the `.seal` bytes as stored.
    package let sealSHA256: String
    /// `verified` or `invalid` (the seal or its signature does not verify).
    package let trust: ArchiveCatalog.Trust
    package let problem: String?
    /// The seal, when it verified.
    package let seal: SealDocument?
    package let signerPrincipals: [String]
    package let objectPresent: Bool
    package let tombstone: Tombstone?
    /// A tombstone note that is there but cannot be read, or names another seal.
    package let tombstoneProblem: String?
    package var attestations: [AttestationRecord]

    enum CodingKeys: String, CodingKey {
        case key, object, profile, trust, problem, seal, tombstone, attestations
        case createdAt = "created_at"
        case sealSHA256 = "seal_sha256"
        case signerPrincipals = "signer_principals"
        case objectPresent = "object_present"
        case tombstoneProblem = "tombstone_problem"
    }
}

/// An attestation found beside an archive, and whether it is believed.
package struct AttestationRecord: Codable, Sendable {
    package let key: String
    /// `verified` when its signature verifies against the trusted verifiers and it is bound to
    /// this archive's seal; `invalid` otherwise, with the reason.
    package let trust: ArchiveCatalog.Trust
    package let problem: String?
    package let attestation: Attestation?
    package let verifierPrincipals: [String]

    enum CodingKeys: String, CodingKey {
        case key, trust, problem, attestation
        case verifierPrincipals = "verifier_principals"
    }
}

/// Reads every seal of a store (or one profile), its tombstone note and attestations, checking
/// each signature. Costs one listing and a few small reads per archive.
package enum SeriesReader {
    package struct Limits: Sendable {
        /// The most archives read at once; a store with more is refused with a message rather
        /// than read into memory without bound (`--since` narrows it).
        package var maxArchives = 100_000
        package var maxAttestationsPerArchive = 64
        package init() {}
    }

    package struct Failure: Error, CustomStringConvertible {
        package let description: String
    }

    /// Entries of `profile` (or of every profile), oldest first; only archives created at or
    /// after `since`. Holds them all: for tests and small stores; `scan` streams.
    package static func read(_ store: ObjectStore, profile: String?, policy: TrustPolicy, verifiers: AllowedSigners,
                            since: Date? = nil, limits: Limits = Limits()) throws -> [SeriesEntry] {
        var entries: [SeriesEntry] = []
        try scan(store, profile: profile, policy: policy, verifiers: verifiers, since: since, limits: limits) { entries.append($0) }
        return entries
    }

    /// Hands each entry to `body` in key order — by profile, and within a profile by time —
    /// holding one at a time: what stays in memory is the store's listing.
    package static func scan(_ store: ObjectStore, profile: String?, policy: TrustPolicy, verifiers: AllowedSigners,
                            since: Date? = nil, limits: Limits = Limits(), _ body: (SeriesEntry) throws -> Void) throws {
        let listing = try store.list(prefix: profile.map { $0 + "/" } ?? "").map(\.key).filter { !SegmentNaming.isSegmentKey($0) }
        let present = Set(listing)
        let sealKeys = listing.filter { $0.hasSuffix(".seal") && present.contains($0 + ".sig") }.sorted()
        guard sealKeys.count <= limits.maxArchives else {
            throw Failure(description: "\(sealKeys.count) seals under \(store.location(of: profile.map { $0 + "/" } ?? "")), more than the \(limits.maxArchives) read at once: narrow with --profile or --since")
        }
        // Attestation keys by the object they sit beside, from the same listing.
        var attestationKeys: [String: [String]] = [:]
        for key in listing where present.contains(key + ".sig") {
            guard let object = Attestation.objectKey(ofDocument: key) else { continue }
            attestationKeys[object, default: []].append(key)
        }
        for sealKey in sealKeys {
            let key = String(sealKey.dropLast(".seal".count))
            let object = String(key.split(separator: "/").last ?? "")
            let nameTime = ArchiveCatalog.time(fromName: object) ?? ""
            if let since, let created = StampFormat.date(nameTime), created < since { continue }
            try body(entry(key: key, object: object, nameTime: nameTime, in: store, present: present, attestationKeys: attestationKeys[key] ?? [],
                           policy: policy, verifiers: verifiers, limits: limits))
        }
    }

    /// The archive's object is there — for a partitioned archive, every one of its parts.
    static func objectPresent(_ key: String, seal: SealDocument?, present: Set<String>) -> Bool {
        guard let parts = seal?.parts else { return present.contains(key) }
        let directory = (key as NSString).deletingLastPathComponent
        return parts.allSatisfy { present.contains(directory.isEmpty ? $0.object : directory + "/" + $0.object) }
    }

    static func entry(key: String, object: String, nameTime: String, in store: ObjectStore, present: Set<String>, attestationKeys: [String],
                      policy: TrustPolicy, verifiers: AllowedSigners, limits: Limits) -> SeriesEntry {
        var sealSHA256 = ""
        var signed: SignedSeal?
        var problem: String?
        do {
            // A seal too large to be one is refused like one that does not verify.
            let sealBytes = try store.readSmall(key: key + ".seal")
            sealSHA256 = SHA256Hasher.hash(sealBytes).hex
            let signature = try store.readSmall(key: key + ".seal.sig", limit: 64 * 1024)
            let checked = try SignedSeal.check(sealBytes: sealBytes, signature: signature, objectName: object, policy: policy)
            try ArchiveCatalog.MisplacedArchive.check(checked.seal, key: key)
            signed = checked
        } catch {
            problem = "\(error)"
        }
        var tombstone: Tombstone?
        var tombstoneProblem: String?
        if present.contains(key + Tombstone.suffix) {
            do {
                let note = try Tombstone.decode(try store.readSmall(key: key + Tombstone.suffix, limit: 64 * 1024))
                if note.sealSHA256 == sealSHA256 { tombstone = note } else { tombstoneProblem = "the tombstone note names another seal (SHA-256 \(note.sealSHA256))" }
            } catch {
                tombstoneProblem = "\(error)"
            }
        }
        let attestations = attestationKeys.sorted().suffix(limits.maxAttestationsPerArchive).map {
            readAttestation($0, in: store, sealSHA256: sealSHA256, object: object, verifiers: verifiers)
        }
        return SeriesEntry(
            key: key, object: object, profile: String(key.split(separator: "/").first ?? ""),
            createdAt: signed?.seal.createdAt ?? nameTime, sealSHA256: sealSHA256,
            trust: signed == nil ? .invalid : .verified, problem: problem, seal: signed?.seal,
            signerPrincipals: signed?.signer.principals ?? [], objectPresent: objectPresent(key, seal: signed?.seal, present: present),
            tombstone: tombstone, tombstoneProblem: tombstoneProblem, attestations: attestations)
    }

    static func readAttestation(_ key: String, in store: ObjectStore, sealSHA256: String, object: String, verifiers: AllowedSigners) -> AttestationRecord {
        do {
            let signed = try SignedAttestation.check(bytes: try store.readSmall(key: key, limit: 1 << 20),
                                                     signature: try store.readSmall(key: key + ".sig", limit: 64 * 1024), verifiers: verifiers)
            guard signed.attestation.sealSHA256 == sealSHA256, signed.attestation.object == object else {
                return AttestationRecord(key: key, trust: .invalid, problem: "signed for another seal or object than this archive's",
                                         attestation: signed.attestation, verifierPrincipals: signed.signer.principals)
            }
            return AttestationRecord(key: key, trust: .verified, problem: nil, attestation: signed.attestation, verifierPrincipals: signed.signer.principals)
        } catch {
            return AttestationRecord(key: key, trust: .invalid, problem: "\(error)", attestation: nil, verifierPrincipals: [])
        }
    }
}
