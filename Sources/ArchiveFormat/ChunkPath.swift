/// Where a table's rows lie in an archive's tar: `data/<schema>.<table>/<NNNNNN>.jsonl`,
/// numbered from 1 (docs/FORMAT.md §3). One definition for the writer and every reader.
package enum ChunkPath {
    package static func path(table qualifiedName: String, number: Int) -> String {
        let digits = String(number)
        return "data/\(qualifiedName)/" + String(repeating: "0", count: max(0, 6 - digits.count)) + digits + ".jsonl"
    }

    /// `data/<schema>.<table>/<NNNNNN>.jsonl` → `<schema>.<table>`; nil for any other path.
    package static func tableName(of path: String) -> String? {
        let parts = path.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 3, parts[0] == "data", parts[2].hasSuffix(".jsonl"), parts[2].utf8.count == 12,
              parts[2].utf8.prefix(6).allSatisfy({ (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) }), parts[1].contains(".")
        else { return nil }
        return String(parts[1])
    }
}
