/// Counts and sizes read from outside — a seal, a manifest, a listing, a server's reply — are
/// added with these, never with `+`: a signed seal may claim 2⁶³−1 rows in two tables, and a
/// trap on it would be a denial of service by a document (docs/SECURITY.md).
extension Sequence where Element: FixedWidthInteger {
    /// The sum, or nil when it does not fit.
    package func checkedSum() -> Element? {
        var total: Element = 0
        for value in self {
            let (sum, overflow) = total.addingReportingOverflow(value)
            if overflow { return nil }
            total = sum
        }
        return total
    }

    /// The sum, held at the type's bounds when it does not fit: for figures that are shown,
    /// never for figures that are compared.
    package func saturatingSum() -> Element {
        var total: Element = 0
        for value in self {
            let (sum, overflow) = total.addingReportingOverflow(value)
            total = overflow ? (value > 0 ? .max : .min) : sum
        }
        return total
    }
}

extension FixedWidthInteger {
    /// `self + other`, or nil when it does not fit.
    package func adding(checked other: Self) -> Self? {
        let (sum, overflow) = addingReportingOverflow(other)
        return overflow ? nil : sum
    }
}
