import ArchiveFormat
import ByteStreams
import CanonicalJSON
import Cryptography
import DatabaseCatalog
import Foundation
import Postgres

/// Writes `manifest.json` as a stream into a spool file: the header, then each table with its
/// chunk entries copied from the table's chunk log. The layout is fixed (one chunk a line), so
/// the manifest is readable with `tar -xOf … manifest.json` and diffable.
struct ManifestWriter {
    struct Header {
        let createdAt: String
        package let profile: String
        let source: Manifest.Source
        let toolVersion: String
    }

    /// One chunk's entry, as it is written into the table's chunk log.
    static func chunkEntry(path: String, rows: Int, bytes: Int, sha256: Digest, firstKey: String, lastKey: String) -> String {
        "{\"path\":\(q(path)),\"rows\":\(rows),\"bytes\":\(bytes),\"sha256\":\"\(sha256.hex)\",\"first_key\":\(firstKey),\"last_key\":\(lastKey)}"
    }

    /// Writes the whole manifest; `tables` pairs each plan with its totals and chunk log.
    static func write(header: Header, tables: [(plan: TablePlan, totals: TableTotals, chunkLog: SpoolFile)], types: [TypeDefinition],
                      to out: SpoolFile) throws {
        let source = header.source
        try out.write("""
            {
              "format": \(q(Manifest.formatIdentifier)),
              "tool": {"name": "pgseal", "version": \(q(header.toolVersion))},
              "created_at": \(q(header.createdAt)),
              "profile": \(q(header.profile)),
              "source": {"database": \(q(source.database)), "server_version": \(q(source.serverVersion)), \
            "snapshot": \(q(source.snapshot)), "wal_lsn": \(q(source.walLSN)), \(source.walLSNExact == true ? "\"wal_lsn_exact\": true, " : "")"isolation": \(q(source.isolation)), "consistent": true},
              "settings": {\(PostgresConnection.pinnedSettings.map { "\(q($0.0)): \(q($0.1))" }.joined(separator: ", "))},
              "tables": [\n
            """)
        for (index, table) in tables.enumerated() {
            let plan = table.plan
            let columns = plan.manifestColumns.map { column in
                var members = ["\"name\": \(q(column.name))", "\"type\": \(q(column.type))", "\"encoding\": \(q(column.encoding))"]
                if column.notNull == true { members.append("\"not_null\": true") }
                if let collation = column.collation { members.append("\"collation\": \(q(collation))") }
                if let identity = column.identity { members.append("\"identity\": \(q(identity))") }
                if let generated = column.generated { members.append("\"generated\": \(q(generated))") }
                return "{" + members.joined(separator: ", ") + "}"
            }
            try out.write("""
                    {
                      "schema": \(q(plan.schema)),
                      "name": \(q(plan.name)),
                      "columns": [\(columns.joined(separator: ", "))],
                      "key": [\(plan.keyColumns.map(q).joined(separator: ", "))],
                      "filter": \(plan.filter.map(q) ?? "null"),
                      "rows": \(table.totals.rows),
                      "bytes": \(table.totals.bytes),
                      "digest": "\(table.totals.digest.hex)",
                      "chunks": [
                """)
            try table.chunkLog.rewind()
            try table.chunkLog.forEachBlock(size: 64 * 1024) { try out.write($0) }
            try out.write("]\n    }\(index == tables.count - 1 ? "" : ",")\n")
        }
        try out.write("  ]")
        if !types.isEmpty {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
            try out.write(",\n  \"types\": ")
            try out.write(String(decoding: try encoder.encode(types), as: UTF8.self))
        }
        try out.write("\n}\n")
    }

    private static func q(_ string: String) -> String { JSONString.quoted(string) }
}
