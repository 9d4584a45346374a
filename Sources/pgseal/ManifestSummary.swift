import ArchiveFormat
import Display

/// `pgseal inspect` in human form, as lines (`HumanOutput` escapes each).
enum ManifestSummary {
    static func lines(_ manifest: Manifest, path: String, withChunks: Bool) -> [String] {
        var out = [
            "archive   \(path)",
            "format    \(manifest.format), written by \(manifest.tool.name) \(manifest.tool.version) at \(manifest.createdAt)",
            "profile   \(manifest.profile)",
            "source    database \(manifest.source.database), PostgreSQL \(manifest.source.serverVersion)",
            "snapshot  \(manifest.source.snapshot) at WAL \(manifest.source.walLSN) (\(manifest.source.isolation); one point in time for all tables)",
        ]
        for table in manifest.tables {
            out += ["", "table \(table.qualifiedName): \(Format.plural(table.rows, "row")), \(Format.bytes(table.bytes)) JSON in \(Format.plural(table.chunks.count, "chunk"))"]
            out.append("  key      \(table.key.isEmpty ? "(none: compared as a multiset)" : table.key.joined(separator: ", "))")
            if let filter = table.filter { out.append("  filter   \(filter)") }
            out.append("  digest   \(table.digest)")
            out.append("  columns  " + table.columns.map { "\($0.name) \($0.type)" }.joined(separator: ", "))
            if withChunks {
                out += table.chunks.map { "    \($0.path)  \($0.rows) rows  \($0.bytes) bytes  \($0.sha256)" }
            }
        }
        return out
    }
}

/// `pgseal inspect` of an encrypted archive without a key: its seal, as lines.
enum SealSummary {
    static func lines(_ seal: SealDocument, path: String) -> [String] {
        [
            "archive     \(path)",
            "seal        \(seal.format), signed by \(seal.signer) (signature verified; the object is checked by verify)",
            seal.parts.map { "parts       \($0.count) objects, \(Format.bytes(seal.size)) in all (a partitioned archive: docs/FORMAT.md §10)" }
                ?? "object      \(seal.object), \(Format.bytes(seal.size)), sha256 \(seal.sha256)",
            "created     \(seal.createdAt) by \(seal.tool), profile \(seal.profile)",
            "encryption  \(seal.encryption) to \(seal.recipients.joined(separator: ", "))",
            "snapshot    \(seal.snapshot) at WAL \(seal.walLSN)",
            "manifest    sha256 \(seal.manifestSHA256) (give --identity to read it)",
            "",
        ] + seal.tables.map { "table \($0.name): \(Format.count($0.rows)) rows, digest \($0.digest)" }
            + (seal.parts ?? []).enumerated().flatMap { index, part in
                ["", "part \(index + 1)      \(part.object), \(Format.bytes(part.size)), sha256 \(part.sha256)"]
                    + part.tables.map { "  \($0.name): \(Format.count($0.rows)) rows, \(rangeText($0.range))" }
            }
    }

    static func rangeText(_ range: PartRange) -> String {
        guard let column = range.column, !range.isWhole else { return "all rows" }
        let from = range.from.map { "\(Terminal.escaped($0)) ≤ " } ?? ""
        let to = range.to.map { " < \(Terminal.escaped($0))" } ?? ""
        return "\(from)\(Terminal.escaped(column))\(to)"
    }
}
