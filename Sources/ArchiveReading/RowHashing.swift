import ArchiveFormat
import CanonicalJSON
import Foundation

/// Sees every entry of a tar stream on the reading thread (`TarReadAhead`), block by block.
package protocol EntryObserver: AnyObject {
    func begin(_ entry: TarEntry)
    func update(_ block: UnsafeRawBufferPointer)
    func end()
}

/// The deep level's table digests, computed on the reading thread: each chunk's lines are
/// split and hashed there, into its table's digest, while the caller validates the same lines
/// on its own core. Read only after the stream has ended (the queue between the threads
/// orders the writes before the read).
package final class RowHashing: EntryObserver, @unchecked Sendable {
    private let lines: LineSplitter
    /// How many rows the signed seal gives each table: past that, lines are no longer split
    /// (as the caller stops reading them) — a decompression bomb of tiny rows costs hashing
    /// its bytes, not a hash per row.
    private let sealedRows: [String: Int]
    private var digests: [String: TableDigest] = [:]
    /// Tables with a line past the limit or more rows than sealed: their digest is not this
    /// reader's to give (the caller reports why and stops).
    private var unreadable: Set<String> = []
    private var current: (name: String, digest: TableDigest, limit: Int)?

    private struct PastTheSeal: Error {}

    package init(maxLineBytes: Int, sealedRows: [String: Int]) {
        lines = LineSplitter(maxLineBytes: maxLineBytes)
        self.sealedRows = sealedRows
    }

    package func begin(_ entry: TarEntry) {
        current = ChunkPath.tableName(of: entry.path).map { name in
            let digest = digests[name] ?? TableDigest()
            digests[name] = digest
            return (name, digest, sealedRows[name] ?? 0)
        }
    }

    package func update(_ block: UnsafeRawBufferPointer) {
        guard let current, !unreadable.contains(current.name) else { return }
        do {
            try lines.feed(block) { line in
                guard current.digest.rows < current.limit else { throw PastTheSeal() }
                current.digest.add(row: line)
            }
        } catch {
            unreadable.insert(current.name)
        }
    }

    package func end() {
        // A cut last line is not a row: the caller reports it.
        _ = lines.endHasPartialLine()
        current = nil
    }

    /// The digest of `table`'s rows (of none, for a table without chunks), once the stream has
    /// ended; nil when its lines were not all read.
    package func digest(of table: String) -> TableDigest? {
        unreadable.contains(table) ? nil : digests[table] ?? TableDigest()
    }
}
