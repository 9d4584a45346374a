import CanonicalJSON
import Foundation

/// Failures of the export itself (the database's and the store's have their own types).
package enum ExportError: Error, CustomStringConvertible {
    case duplicateKey(table: String, key: [String], value: String)
    case rowTooLarge(table: String, key: String, bytes: Int)
    case cancelled
    case workerFailed(table: String, underlying: Error)
    /// A state the code guarantees did not hold: a bug of pgseal's, reported rather than trapped.
    case internalInvariant(String)
    case seriesLookup(String, underlying: Error)
    /// A partitioned export's plan, parts or workers (docs/FORMAT.md §10).
    case partition(String)
    /// A worker whose part the plan does not have (fewer parts than workers): not a failure.
    case partNotNeeded(part: Int, of: Int)
    /// No data from the database for the stall timeout.
    case stalled(seconds: TimeInterval)
    /// An exact WAL position was asked for and the server cannot give one (`exactPosition`).
    case exactPosition([String])

    package var description: String {
        switch self {
        case .duplicateKey(let table, let key, let value):
            "table \(table): the key (\(key.joined(separator: ", "))) is not unique — \(value) appears more than once; "
                + "declare a unique key for this table in the profile"
        case .rowTooLarge(let table, let key, let bytes):
            "table \(table): the row \(key) is \(bytes) bytes as JSON, more than the \(RowLimit.defaultBytes) bytes readers accept by default; "
                + "leave its largest column out of the profile (columns: […]) or split the value"
        case .cancelled:
            "the export was cancelled"
        case .workerFailed(let table, let underlying):
            "exporting \(table): \(underlying)"
        case .seriesLookup(let prefix, let underlying):
            "finding the newest seal under \(prefix), which the new seal links to (docs/FORMAT.md §7.1): \(underlying) — "
                + "the export's credentials need s3:ListBucket on the prefix and s3:GetObject on *.seal (docs/OPERATIONS.md, IAM policies)"
        case .partNotNeeded(let part, let count):
            "part \(part): the plan has \(count) parts, so this worker has nothing to do"
        case .stalled(let seconds):
            "no data from the database for \(String(format: "%.0f", seconds)) s: the server or the network stalled (a partition that keeps the connection open); nothing was sealed — check the path to the database, or raise --stall-timeout for a sort that takes longer than that before its first rows"
        case .exactPosition(let problems):
            "an exact WAL position is read from a temporary logical replication slot, and the server cannot make one: "
                + problems.joined(separator: "; ") + " — or export without --exact-position (the archive's WAL position is then only near its snapshot)"
        case .partition(let what):
            "partitioned export: \(what)"
        case .internalInvariant(let what):
            "internal error: \(what); nothing was sealed — please report this"
        }
    }
}
