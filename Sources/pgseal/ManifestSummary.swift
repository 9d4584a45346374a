import Archive
import Export

/// `pgseal inspect` in human form.
enum ManifestSummary {
    static func text(_ manifest: Manifest, path: String, withChunks: Bool) -> String {
        var out = """
            archive   \(path)
            format    \(manifest.format), written by \(manifest.tool.name) \(manifest.tool.version) at \(manifest.createdAt)
            profile   \(manifest.profile)
            source    database \(manifest.source.database), PostgreSQL \(manifest.source.serverVersion)
            snapshot  \(manifest.source.snapshot) at WAL \(manifest.source.walLSN) (\(manifest.source.isolation); one point in time for all tables)

            """
        for table in manifest.tables {
            out += "\ntable \(table.qualifiedName): \(Format.count(table.rows)) rows, \(Format.bytes(table.bytes)) JSON in \(table.chunks.count) chunks\n"
            out += "  key      \(table.key.isEmpty ? "(none: compared as a multiset)" : table.key.joined(separator: ", "))\n"
            if let filter = table.filter { out += "  filter   \(filter)\n" }
            out += "  digest   \(table.digest)\n"
            out += "  columns  " + table.columns.map { "\($0.name) \($0.type)" }.joined(separator: ", ") + "\n"
            if withChunks {
                for chunk in table.chunks {
                    out += "    \(chunk.path)  \(chunk.rows) rows  \(chunk.bytes) bytes  \(chunk.sha256)\n"
                }
            }
        }
        return out
    }
}

/// `pgseal inspect` of an encrypted archive without a key: its seal.
enum SealSummary {
    static func text(_ seal: SealDocument, path: String) -> String {
        var out = """
            archive     \(path)
            seal        \(seal.format), signed by \(seal.signer) (signature verified; the object is checked by verify)
            object      \(seal.object), \(Format.bytes(seal.size)), sha256 \(seal.sha256)
            created     \(seal.createdAt) by \(seal.tool), profile \(seal.profile)
            encryption  \(seal.encryption) to \(seal.recipients.joined(separator: ", "))
            snapshot    \(seal.snapshot) at WAL \(seal.walLSN)
            manifest    sha256 \(seal.manifestSHA256) (give --identity to read it)

            """
        for table in seal.tables {
            out += "table \(table.name): \(Format.count(table.rows)) rows, digest \(table.digest)\n"
        }
        return out
    }
}
