import ArchiveFormat
import Cryptography
import Foundation

/// The deep level for an archive of files: every entry under `files/` read and hashed, then
/// compared with the manifest (the last entry, itself checked against the seal): the same
/// kind, permissions, size and SHA-256 or link target; nothing missing, nothing unlisted.
struct FilesCheck {
    let seal: SealDocument

    struct Observed {
        let kind: EntryKind
        let mode: Int32
        let size: Int64
        let sha256: String?
        let target: String?
    }

    func run(_ reader: TarReader, into report: inout VerificationReport) throws {
        var observed: [String: Observed] = [:]
        var order: [String] = []
        var manifestBytes: [UInt8]?
        while let entry = try reader.nextEntry() {
            if manifestBytes != nil {
                report.fail(entry.path, "an entry after manifest.json: the manifest must be the last entry")
                continue
            }
            if entry.path == Manifest.entryPath {
                manifestBytes = try reader.readAll(entry, limit: ArchiveManifest.sizeLimit)
                continue
            }
            guard entry.path.hasPrefix("files/") else {
                report.fail(entry.path, "an entry outside files/ in an archive of files")
                continue
            }
            // Readers give a directory's name with a trailing slash; the manifest lists it without.
            let path = entry.kind == .directory && entry.path.hasSuffix("/") ? String(entry.path.dropLast()) : entry.path
            var sha256: String?
            if entry.kind == .file {
                let hasher = SHA256Hasher()
                var size: Int64 = 0
                try reader.forEachBlock { block in
                    hasher.update(block)
                    size += Int64(block.count)
                }
                guard size == entry.size else {
                    report.fail(entry.path, "\(size) bytes of data, the tar header says \(entry.size)")
                    continue
                }
                sha256 = hasher.finalize().hex
            }
            if observed[path] != nil { report.fail(path, "the entry appears twice") }
            observed[path] = Observed(kind: entry.kind, mode: entry.mode, size: entry.size, sha256: sha256, target: entry.linkTarget)
            order.append(path)
        }
        guard let manifestBytes else {
            report.fail("manifest.json", "missing: the archive is incomplete")
            return
        }
        let digest = manifestBytes.withUnsafeBytes { SHA256Hasher.hash($0) }
        guard digest.hex == seal.manifestSHA256 else {
            report.fail("manifest.json", "SHA-256 \(digest.hex) differs from the seal's \(seal.manifestSHA256)")
            return
        }
        let manifest = try FilesManifest.decode(manifestBytes)
        for file in manifest.files {
            guard let seen = observed.removeValue(forKey: file.path) else {
                report.fail(file.path, "listed in the manifest but not in the archive")
                continue
            }
            if seen.kind != file.kind { report.fail(file.path, "a \(seen.kind.rawValue) in the archive, a \(file.kind.rawValue) in the manifest") }
            if FilesManifest.File.modeText(seen.mode) != file.mode { report.fail(file.path, "permissions differ from the manifest's \(file.mode)") }
            if file.kind == .file && (seen.size != file.size || seen.sha256 != file.sha256) {
                report.fail(file.path, "\(seen.size) bytes with SHA-256 \(seen.sha256 ?? "?"), the manifest says \(file.size) bytes, \(file.sha256 ?? "?")")
            }
            if file.kind == .symlink && seen.target != file.target { report.fail(file.path, "links to \(seen.target ?? "?"), the manifest says \(file.target ?? "?")") }
        }
        for path in order where observed[path] != nil { report.fail(path, "in the archive but not listed in the manifest") }
        if let count = seal.files, count != manifest.files.count {
            report.fail("seal", "the seal counts \(count) entries, the manifest lists \(manifest.files.count)")
        }
    }
}
