import ArchiveFormat
import ArchiveReading
import ByteStreams
import CanonicalJSON
import ChangeCapture
import Cryptography
import Export
import Foundation
import ObjectStore

/// One change segment as it is written (docs/FORMAT.md §11): `tables.json`, then the change
/// lines in chunks of at most `chunkBytes` (a larger line is a chunk of its own), then
/// `manifest.json` — tar, compressed, encrypted and sealed as every archive is. What it holds
/// in memory is one chunk, and a line per table and chunk of bookkeeping.
final class SegmentWriter {
    struct Sealed {
        let key: String
        let seal: SealDocument
        let sealSHA256: String
        var link: SealChain.Link { SealChain.Link(object: seal.object, sealSHA256: sealSHA256) }
    }

    let fromLSN: LSN
    let sequence: Int
    let opened = Date()
    private let archive: SealedArchiveWriter
    private let store: ObjectStore
    private let naming: ObjectNaming
    private let definitionsSHA256: String
    private let chunkBytes: Int
    private let chunk: ByteBuffer
    private var chunkLines = 0
    private var chunks: [SegmentManifest.Chunk] = []
    private var tableCounts: [String: Int] = [:]
    private let tableOrder: [String]
    private(set) var transactions = 0
    private(set) var changes = 0
    private(set) var lineBytes: Int64 = 0
    private var firstCommit: String?
    private var lastCommit: String?

    init(store: ObjectStore, settings: FollowSettings, definitions: TableDefinitions, fromLSN: LSN, sequence: Int) throws {
        let export = settings.export
        naming = ObjectNaming(profile: export.profile.name, time: Date())
        self.store = store
        self.fromLSN = fromLSN
        self.sequence = sequence
        chunkBytes = max(64 << 10, settings.chunkBytes)
        chunk = ByteBuffer(capacity: chunkBytes)
        tableOrder = definitions.tables.map(\.qualifiedName)
        let key = naming.segmentKey(sequence: sequence, extension: SealedArchiveWriter.suffix(compression: export.compression, encrypted: !export.recipients.isEmpty))
        archive = try SealedArchiveWriter(store: store, naming: naming, key: key, compression: export.compression,
                                          recipients: export.recipients, signed: false)
        do {
            let bytes = try definitions.encoded()
            definitionsSHA256 = SHA256Hasher.hash(bytes).hex
            try bytes.withUnsafeBytes { try archive.tar.addFile(path: TableDefinitions.entryPath, contents: $0) }
        } catch {
            archive.abort()
            throw error
        }
    }

    var isEmpty: Bool { transactions == 0 }

    /// Adds one change line (without its newline).
    func add(line: UnsafeRawBufferPointer) throws {
        if chunk.count > 0, chunk.count + line.count + 1 > chunkBytes { try flushChunk() }
        chunk.append(line)
        chunk.append(UInt8(ascii: "\n"))
        chunkLines += 1
        changes += 1
        lineBytes += Int64(line.count + 1)
    }

    /// Counts a transaction whose lines were added, and its lines per table.
    func noteTransaction(_ stamp: CommitStamp, tableCounts counts: [String: Int]) {
        for (table, count) in counts { tableCounts[table, default: 0] += count }
        transactions += 1
        if firstCommit == nil { firstCommit = stamp.committedAtText }
        lastCommit = stamp.committedAtText
    }

    private func flushChunk() throws {
        guard chunk.count > 0 else { return }
        let path = SegmentNaming.chunkPath(number: chunks.count + 1)
        let contents = UnsafeRawBufferPointer(start: chunk.base, count: chunk.count)
        try archive.tar.addFile(path: path, contents: contents)
        chunks.append(SegmentManifest.Chunk(path: path, lines: chunkLines, sha256: SHA256Hasher.hash(contents).hex))
        chunk.count = 0
        chunkLines = 0
    }

    /// Ends the segment at `toLSN` and publishes it: object, `.sha256`, seal and — last — the
    /// seal's signature. Only then may the slot's position move to `toLSN`.
    func seal(toLSN: LSN, base: SealChain.Link, previous: SealChain.Link?, settings: FollowSettings) throws -> Sealed {
        let export = settings.export
        do {
            try flushChunk()
            var range = SegmentRange(
                base: base, fromLSN: fromLSN.description, toLSN: toLSN.description, transactions: transactions, changes: changes,
                firstCommit: firstCommit, lastCommit: lastCommit,
                tables: tableOrder.map { SegmentRange.TableCount(name: $0, changes: tableCounts[$0] ?? 0) })
            range.sealedAt = StampFormat.rfc3339(Date())
            let manifest = try SegmentManifest(tool: Manifest.Tool(name: "pgseal", version: PGSealVersion.current), createdAt: naming.createdAt,
                                               profile: export.profile.name, range: range, chunks: chunks).encoded()
            try manifest.withUnsafeBytes { try archive.tar.addFile(path: Manifest.entryPath, contents: $0) }
            let manifestSHA256 = SHA256Hasher.hash(manifest).hex
            _ = try archive.finish(signingKey: export.signingKey, link: .given(previous)) { size, digest in
                var seal = SealDocument(
                    object: archive.basename, size: size, sha256: digest.hex, manifestSHA256: manifestSHA256, createdAt: naming.createdAt,
                    profile: export.profile.name, encryption: archive.encrypted ? "age-x25519" : "none",
                    recipients: export.recipients.map(\.description), compression: export.compression.name, snapshot: "",
                    walLSN: toLSN.description, tables: [], signer: export.signingKey?.publicKey.fingerprint ?? "",
                    tool: "pgseal \(PGSealVersion.current)")
                seal.contents = "changes"
                seal.changes = range
                seal.tablesSHA256 = definitionsSHA256
                return seal
            }
            // The link the next segment makes is to the seal's bytes as stored.
            let stored = try store.readSmall(key: archive.key + ".seal", limit: SegmentSeries.maxSealBytes)
            return Sealed(key: archive.key, seal: try SealDocument.decode(stored), sealSHA256: SHA256Hasher.hash(stored).hex)
        } catch {
            archive.abort()
            throw error
        }
    }

    func abort() { archive.abort() }
}
