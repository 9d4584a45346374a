import Cryptography

/// What a partitioned archive's seal states of the whole, derived from its parts
/// (docs/FORMAT.md §10.2): the coordinator writes these; every reader derives them again from
/// the signed parts and compares. One derivation for both, so that they cannot disagree.
package struct PartitionTotals {
    /// The sum of the parts' sizes; nil when a size is negative or the sum passes Int64.
    package let size: Int64?
    /// `L(sha256 + "  " + object)` over the parts in order.
    package let sha256: String
    /// `L(manifest_sha256)` over the parts in order.
    package let manifestSHA256: String

    package init(_ parts: [SealPart]) {
        size = Self.sum(parts.map(\.size))
        sha256 = SHA256Hasher.listDigest(parts.map { "\($0.sha256)  \($0.object)" })
        manifestSHA256 = SHA256Hasher.listDigest(parts.map(\.manifestSHA256))
    }

    /// One table across the parts that hold it, in part order: its pieces, their rows summed
    /// (nil when a count is negative or the sum overflows) and `L(digests)`.
    package static func table(_ name: String, in parts: [SealPart]) -> (pieces: [SealPart.Table], rows: Int?, digest: String) {
        let pieces = parts.flatMap { $0.tables.filter { $0.name == name } }
        return (pieces, sum(pieces.map(\.rows)), SHA256Hasher.listDigest(pieces.map(\.digest)))
    }

    private static func sum<N: FixedWidthInteger>(_ values: [N]) -> N? {
        var total: N = 0
        for value in values {
            let (next, overflow) = total.addingReportingOverflow(value)
            guard value >= 0, !overflow else { return nil }
            total = next
        }
        return total
    }
}
