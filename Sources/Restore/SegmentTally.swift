import ArchiveFormat
import CanonicalJSON
import ChangeCapture
import Display

/// What a segment's lines hold, counted as they are read — every line, visited by the replay or
/// not — so that the counts its seal states (docs/FORMAT.md §11.3) are held to its lines, and
/// so that order is checked across the whole segment.
struct SegmentTally {
    private(set) var lastLSN: LSN?
    private(set) var lastXID: UInt64?
    private var transactions = 0
    private var changes = 0
    private var firstCommit: String?
    private var lastCommit: String?
    private var tables: [String: Int] = [:]

    /// Why `change` at `lsn` cannot follow the lines counted so far (commit order, one
    /// transaction a commit LSN), or nil.
    func disorder(_ change: ChangeLineDecoder.Change, at lsn: LSN) -> String? {
        guard let lastLSN else { return nil }
        if lsn < lastLSN { return "its commit LSN \(lsn) is before the line before it (\(lastLSN)): not in commit order" }
        if lsn == lastLSN, lastXID != change.xid { return "two transactions at one commit LSN \(lsn)" }
        return nil
    }

    mutating func count(_ change: ChangeLineDecoder.Change, at lsn: LSN) {
        if lsn != lastLSN { transactions += 1 }
        lastLSN = lsn
        lastXID = change.xid
        changes += 1
        if firstCommit == nil { firstCommit = change.committedAt }
        lastCommit = change.committedAt
        if change.operation != .truncate { tables[change.table, default: 0] += 1 }
    }

    /// The first of the seal's counts that the lines contradict, said as a problem, or nil.
    func contradiction(with range: SegmentRange) -> String? {
        if transactions != range.transactions { return "its lines hold \(transactions) transactions; its seal says \(range.transactions)" }
        if changes != range.changes { return "its lines are \(changes) changes; its seal says \(range.changes)" }
        if firstCommit != range.firstCommit || lastCommit != range.lastCommit {
            return "its lines were committed from \(firstCommit ?? "none") to \(lastCommit ?? "none"); its seal says from "
                + "\(Terminal.escaped(range.firstCommit ?? "none")) to \(Terminal.escaped(range.lastCommit ?? "none"))"
        }
        // A table listed twice never matches: -1 is no count.
        let sealed = Dictionary(range.tables.filter { $0.changes != 0 }.map { ($0.name, $0.changes) }, uniquingKeysWith: { _, _ in -1 })
        if let name = Set(sealed.keys).union(tables.keys).sorted().first(where: { sealed[$0] != tables[$0] }) {
            return "its lines change \(Terminal.escaped(name)) \(tables[name] ?? 0) times; its seal says \(max(sealed[name] ?? 0, 0))"
        }
        return nil
    }
}
