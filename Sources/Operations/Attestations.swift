import ArchiveFormat
import ArchiveReading
import Cryptography
import Foundation
import ObjectStore
import Verify

/// Recorded verifications: `verify --attest-key` writes one beside the archive; `check` and
/// `report` read them back (`SeriesReader.readAttestation`), believing only those signed by the
/// trusted verifiers and bound to the archive's seal as it is stored.
package enum Attestations {
    package enum RecordError: Error, CustomStringConvertible {
        case noSeal(String)

        package var description: String {
            switch self {
            case .noSeal(let archive):
                "\(archive) has no .seal: there is nothing to bind an attestation to (only sealed archives are attested)"
            }
        }
    }

    /// Signs `report` as an attestation with `key` and stores it (and its signature, last)
    /// beside the archive; returns where.
    @discardableResult
    package static func record(_ report: VerificationReport, key: SSHSigningKey, storeSettings: StoreSettings, now: Date = Date()) throws -> String {
        let location = try ArchiveLocation(report.archive, settings: storeSettings)
        guard let sealBytes = try location.sidecar(".seal") else { throw RecordError.noSeal(report.archive) }
        // Bound to the seal as stored, whether or not it verified: a failed verification is
        // recorded too, against the seal it failed on.
        let attestation = Attestation(
            object: location.name, sealSHA256: SHA256Hasher.hash(sealBytes).hex, level: report.level.rawValue, verified: report.ok,
            verifiedAt: report.verifiedAt.isEmpty ? StampFormat.rfc3339(now) : report.verifiedAt,
            durationSeconds: (report.seconds * 1000).rounded() / 1000, tool: "pgseal \(PGSealVersion.current)",
            verifier: key.publicKey.fingerprint, objectSHA256: report.objectSHA256,
            tables: report.tables.filter(\.digestMatches).map { Attestation.Table(name: $0.name, rows: $0.rows, digest: $0.digest) },
            failures: report.failures.map(\.description))
        let (document, signature) = try SignedAttestation.sign(attestation, key: key)
        let time = StampFormat.date(attestation.verifiedAt) ?? now
        let key = Attestation.key(forObject: location.key, verifiedAt: time, level: report.level.rawValue)
        try location.store.put(key: key, contents: document)
        try location.store.put(key: key + ".sig", contents: signature)
        return location.store.location(of: key)
    }
}

extension VerificationReport.Level {
    /// seal < deep < restore: each level includes the one before.
    package var strength: Int {
        switch self {
        case .seal: 0
        case .deep: 1
        case .restore: 2
        }
    }
}
