import Archive
import ByteStreams
import CanonicalJSON
import Foundation
import ObjectStore
import Seal

/// What verification needs: the archive, the level, and the keys that level requires.
public struct VerificationRequest {
    public var archive: String
    public var level: VerificationReport.Level
    public var trusted: [SSHPublicKey]
    public var keys: AgeKeyring
    /// For the restore level: a database URL on the server where the scratch database is made.
    public var scratchDatabaseURL: String?
    public var keepScratch = false

    public init(archive: String, level: VerificationReport.Level, trusted: [SSHPublicKey], keys: AgeKeyring) {
        self.archive = archive
        self.level = level
        self.trusted = trusted
        self.keys = keys
    }
}

/// Verification could not run (exit 2), as opposed to finding the archive bad (a report with
/// failures, exit 1).
public enum VerificationError: Error, CustomStringConvertible {
    case missingIdentity(String)
    case missingScratchDatabase
    case notTables(String)

    public var description: String {
        switch self {
        case .missingIdentity(let archive):
            "\(archive) is encrypted: the deep and restore levels need its age identity (--identity F); the seal level needs none"
        case .notTables(let archive):
            "\(archive) is an archive of files (pgseal seal): it has no rows to restore; verify it at level deep"
        case .missingScratchDatabase:
            "the restore level needs a server to restore into: give --scratch-db URL (a role that may CREATE DATABASE)"
        }
    }
}

/// `pgseal verify`: the seal level proves the object authentic and intact as stored; the deep
/// level also opens it and checks every chunk, row and digest against the manifest and the
/// seal — in one streaming pass over the object.
public enum Verifier {
    public static func run(_ request: VerificationRequest) throws -> VerificationReport {
        let started = Date()
        var report = VerificationReport(archive: request.archive, level: request.level)
        defer { report.seconds = Date().timeIntervalSince(started) }

        let archive = try ArchiveLocation(request.archive)
        guard let seal = try checkSeal(request, archive, &report) else { return finished(report, started) }
        if request.level != .seal && archive.isEncrypted && request.keys.isEmpty {
            throw VerificationError.missingIdentity(request.archive)
        }
        if request.level == .restore && seal.isFilesArchive { throw VerificationError.notTables(request.archive) }
        if request.level == .restore && request.scratchDatabaseURL == nil {
            throw VerificationError.missingScratchDatabase
        }

        let object = HashingSource(try archive.open())
        // A damaged header can look like a key that does not match; which it is, the object's
        // hash against the seal decides once the whole object has been read.
        var keyProblem: AgeError?
        var manifest: Manifest?
        let readStarted = Date()
        if request.level != .seal {
            do {
                let plain = try archive.plaintext(of: object, keys: request.keys)
                if seal.isFilesArchive {
                    try FilesCheck(seal: seal).run(plain, into: &report)
                } else {
                    manifest = try DeepCheck(seal: seal).run(plain, into: &report)
                }
            } catch let error as AgeError {
                if error.isIntegrityFailure { report.fail("age", "\(error)") } else { keyProblem = error }
            } catch let error as ArchiveError {
                report.fail("tar", "\(error)")
            }
        }
        let digest = try object.finish()
        report.objectBytes = object.count
        report.objectSHA256 = digest.hex
        var objectProblem: String?
        if object.count != seal.size {
            objectProblem = "\(object.count) bytes, the seal says \(seal.size): the object was truncated or extended"
        } else if digest.hex != seal.sha256 {
            objectProblem = "SHA-256 \(digest.hex) differs from the seal's \(seal.sha256): the object was altered"
        }
        if let objectProblem {
            if let keyProblem { report.failures.insert(.init(location: "age", problem: "\(keyProblem)"), at: 0) }
            report.failures.insert(.init(location: "object", problem: objectProblem), at: 0)
        } else if let keyProblem {
            throw keyProblem
        }
        report.phases["read"] = Date().timeIntervalSince(readStarted)
        if request.level == .restore, report.ok, let manifest, let url = request.scratchDatabaseURL {
            let scratch = try ScratchDatabase(adminURL: url)
            report.scratchDatabase = scratch.name
            defer { request.keepScratch ? scratch.keep() : scratch.drop() }
            try RestoreCheck(manifest: manifest, openTar: { try TarReader(source: try archive.openPlaintext(keys: request.keys)) },
                             scratch: scratch).run(into: &report)
        }
        return finished(report, started)
    }

    private static func finished(_ report: VerificationReport, _ started: Date) -> VerificationReport {
        var report = report
        report.seconds = Date().timeIntervalSince(started)
        return report
    }

    /// Reads the seal and checks its signature; nil (with a failure recorded) when it fails.
    static func checkSeal(_ request: VerificationRequest, _ archive: ArchiveLocation, _ report: inout VerificationReport) throws -> SealDocument? {
        let sealPath = archive.display + ".seal"
        guard let sealBytes = try archive.sidecar(".seal") else {
            report.fail("seal", "\(sealPath) is missing: an archive without a signed seal is an interrupted or unsigned export")
            return nil
        }
        guard let signature = try archive.sidecar(".seal.sig") else {
            report.fail("seal.sig", "\(sealPath).sig is missing: the export did not finish, or the signature was removed")
            return nil
        }
        do {
            let signer = try SSHSignature.verify(String(decoding: signature, as: UTF8.self), message: sealBytes,
                                                 namespace: SealDocument.signatureNamespace, trusted: request.trusted)
            report.signer = signer.fingerprint
        } catch {
            report.fail("seal.sig", "\(error)")
            return nil
        }
        do {
            let seal = try SealDocument.decode(sealBytes)
            guard seal.object == archive.name else {
                report.fail("seal", "the seal is for \(seal.object), not for this object")
                return nil
            }
            return seal
        } catch {
            report.fail("seal", "the signed seal cannot be read: \(error)")
            return nil
        }
    }
}
