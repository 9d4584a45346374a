import ArchiveFormat
import Display
import Foundation

/// A partitioned archive's seal judged on its own terms (docs/FORMAT.md §10.2), before any part
/// is read: by verification, and by every reader of rows.
package enum PartitionedSeal {
    /// What is wrong with a partitioned seal on its own terms: sums, digests and ranges.
    package static func problems(of seal: SealDocument) -> [String] {
        guard let parts = seal.parts else { return [] }
        var problems: [String] = []
        let totals = PartitionTotals(parts)
        if let size = totals.size {
            if size != seal.size { problems.append("the seal's size \(seal.size) is not the sum of its parts' (\(size))") }
        } else {
            problems.append("the parts' sizes do not add up")
        }
        if totals.sha256 != seal.sha256 { problems.append("the seal's sha256 is not the digest of its parts' SHA-256 lines") }
        if totals.manifestSHA256 != seal.manifestSHA256 { problems.append("the seal's manifest_sha256 is not the digest of its parts' manifests") }
        var objects = Set<String>()
        for object in parts.map(\.object) where !objects.insert(object).inserted {
            problems.append("two parts have the same object \(Terminal.escaped(object))")
        }
        let listed = Set(seal.tables.map(\.name))
        for name in Set(parts.flatMap { $0.tables.map(\.name) }).subtracting(listed).sorted() {
            problems.append("a part holds table \(Terminal.escaped(name)), which the seal's tables do not list")
        }
        for table in seal.tables {
            let derived = PartitionTotals.table(table.name, in: parts)
            let name = Terminal.escaped(table.name)
            guard !derived.pieces.isEmpty else {
                problems.append("no part holds table \(name)")
                continue
            }
            if derived.rows != table.rows { problems.append("table \(name): the parts' rows do not add up to the seal's \(table.rows)") }
            if derived.digest != table.digest { problems.append("table \(name): the seal's digest is not the digest of its parts' digests") }
            if let gap = rangeProblem(derived.pieces.map(\.range)) { problems.append("table \(name): \(gap)") }
        }
        return problems
    }

    /// Ranges of one table, in part order, must cover every key once: a single whole range, or
    /// ranges on one column from an open start to an open end, each ending where the next begins.
    package static func rangeProblem(_ ranges: [PartRange]) -> String? {
        if ranges.count == 1 { return ranges[0].isWhole ? nil : "its only range does not cover every key" }
        guard let column = ranges.first?.column, ranges.allSatisfy({ $0.column == column && !$0.isWhole }) else {
            return "its ranges are not ranges of one key column"
        }
        guard ranges.first?.from == nil, ranges.last?.to == nil else { return "its ranges do not start and end open" }
        for (a, b) in zip(ranges, ranges.dropFirst()) where a.to == nil || a.to != b.from {
            return "its ranges leave a gap or overlap"
        }
        return nil
    }
}

extension GatedArchive {
    /// The objects a reader of rows reads: this archive, or — for a partitioned one, whose seal
    /// has been checked on its own terms first — each part with the names of the tables it holds.
    package func objectsToRead() throws -> [(archive: GatedArchive, tables: Set<String>?)] {
        guard let seal, let parts = seal.parts else { return [(self, nil)] }
        if let problem = PartitionedSeal.problems(of: seal).first { throw SealProblem(location: "seal", problem: problem) }
        return try parts.enumerated().map { (try gatedPart($1, number: $0, of: parts.count), Set($1.tables.map(\.name))) }
    }
}
