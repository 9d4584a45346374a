import ArchiveFormat
import ByteStreams
import Cryptography
import Foundation

/// The table definitions (`tables.json`) of a gated archive, and whether they may be believed:
/// bound to the signed seal by its `tables_sha256`, or — for seals written before that member
/// existed — by a first pass that checks the whole object against the seal and takes the
/// definitions from the manifest the seal names. Unsigned archives' definitions are returned
/// untrusted: callers must not turn their SQL (filters) into statements.
package struct ArchiveDefinitions {
    package let definitions: TableDefinitions
    package let trusted: Bool

    package struct Missing: Error, CustomStringConvertible, IntegrityViolation {
        package let reason: String
        package var isIntegrityFailure: Bool { true }
        package var description: String { reason }
    }

    package static func read(_ archive: GatedArchive, keys: AgeKeyring) throws -> ArchiveDefinitions {
        let object = try archive.openObject()
        return try archive.reading(object) { try read(archive, object: object, keys: keys) }
    }

    private static func read(_ archive: GatedArchive, object: SealBoundSource, keys: AgeKeyring) throws -> ArchiveDefinitions {
        let tar = try archive.tar(over: object, keys: keys)
        guard let first = try tar.nextEntry(), first.path == TableDefinitions.entryPath else {
            throw Missing(reason: "the archive does not start with tables.json: it is not a complete pgseal archive of tables (an archive of files from pgseal seal has no rows)")
        }
        let bytes = try tar.readAll(first, limit: ArchiveManifest.sizeLimit)
        guard let seal = archive.seal else {
            return ArchiveDefinitions(definitions: try TableDefinitions.decode(bytes), trusted: false)
        }
        if let sealed = seal.tablesSHA256 {
            guard SHA256Hasher.hash(bytes).hex == sealed else {
                throw SealProblem(location: "tables.json", problem: "SHA-256 differs from the seal's tables_sha256: the definitions were altered")
            }
            return ArchiveDefinitions(definitions: try TableDefinitions.decode(bytes), trusted: true)
        }
        // An older seal: the manifest, bound to the seal, is the authority; read to it, then
        // hold the whole object to the seal before believing anything.
        var manifestBytes: [UInt8]?
        while let entry = try tar.nextEntry() {
            if entry.path == Manifest.entryPath { manifestBytes = try tar.readAll(entry, limit: ArchiveManifest.sizeLimit) }
        }
        try object.finish()
        guard let manifestBytes else { throw Missing(reason: "the archive has no manifest.json: it is incomplete") }
        guard SHA256Hasher.hash(manifestBytes).hex == seal.manifestSHA256 else {
            throw SealProblem(location: "manifest.json", problem: "SHA-256 differs from the seal's manifest_sha256: the manifest was altered")
        }
        let fromManifest = TableDefinitions(manifest: try ArchiveManifest.decode(manifestBytes))
        guard (try? TableDefinitions.decode(bytes)) == fromManifest else {
            throw SealProblem(location: "tables.json", problem: "the table definitions differ from the signed manifest's")
        }
        return ArchiveDefinitions(definitions: fromManifest, trusted: true)
    }
}
