import ArchiveFormat
import ArchiveReading
import CanonicalJSON
import ChangeCapture
import Display
import Foundation
import Postgres

/// The work of `LossRequest`, in two passes over a scratch database:
///
/// 1. **The point** (unless given): the base is restored into a scratch database and its chain
///    replayed there change by change; after each change the restored database's row under
///    the key is compared with the scratch one. The point is the newest transaction that had
///    an effect (a row it changed to other values) and whose every such row the restored
///    database shows.
/// 2. **The losses**: the base and its chain up to the point are restored into a new scratch
///    database — the rows as the restore should have left them — and every later change is
///    taken in order: the scratch row before it is what the restored database must still hold
///    for the change to be put back as it was; a row already as the change left it is there;
///    anything else was written since the restore, a conflict for the policy.
///
/// The restored database is written in one transaction, rolled back for a dry run; values are
/// parameters, names quoted from the base's signed definitions.
package enum LossRecovery {
    package static func run(_ request: LossRequest, progress: (String) -> Void = { _ in }) throws -> LossReport {
        let started = Date()
        let gated = try GatedArchive.openDecrypting(request.base, store: request.storeSettings, policy: request.policy, limits: request.limits, keys: request.keys)
        guard !gated.isPartitioned, let seal = gated.seal, let baseLSN = LSN(seal.walLSN) else {
            throw ReplayError.notABase("it is not a signed archive of tables with a WAL position")
        }
        let replay = SegmentReplay(base: gated, storeSettings: request.storeSettings, policy: request.policy, keys: request.keys, limits: request.limits)
        let chain = try replay.segments(until: .latest)
        let newest = chain.last?.seal?.changes
        let definitions = try Restorer.mergedDefinitions([gated], keys: request.keys).tables
        let target = try PostgresConnection(conninfo: request.databaseURL)
        var report = LossReport(base: request.base, database: target.target)
        for table in definitions where try target.execute("SELECT to_regclass($1) IS NULL", [TableDDL.name(table)]).scalar == "t" {
            throw LossError.noSuchTable(table.qualifiedName)
        }

        let point: LSN
        if let given = request.restoredTo {
            point = try lastCommitted(until: given, chain: chain, replay: replay, baseLSN: baseLSN, tables: definitions)
            report.restoredTo = point.description
        } else {
            let found = try withScratch(request, restoring: nil) { scratch in
                try findPoint(chain: chain, replay: replay, baseLSN: baseLSN, tables: definitions, scratch: scratch, target: target)
            }
            point = found.lsn
            report.point = "found"
            report.restoredTo = found.lsn.description
            report.restoredToCommit = found.commit
            report.notes += found.notes
            progress("the restored database shows the changes up to \(found.lsn)\(found.commit.map { " (committed \($0))" } ?? "")")
        }

        let until: ReplayTarget? = point > baseLSN ? .lsn(point.description) : nil
        try withScratch(request, restoring: until) { scratch in
            try putBack(after: point, request: request, chain: chain, replay: replay, tables: definitions, scratch: scratch, target: target, report: &report)
        }
        report.notes.append("the newest sealed segment ends at \(newest?.toLSN ?? seal.walLSN)\(newest?.lastCommit.map { " (last commit \($0))" } ?? ""): changes committed after it are not sealed, and nothing here can say whether the restore lost them")
        report.seconds = Date().timeIntervalSince(started)
        return report
    }

    /// The commit LSN of the last transaction at or before `given`: a time or an LSN between
    /// commits becomes the commit before it (the base's position when there is none).
    private static func lastCommitted(until given: ReplayTarget, chain: [GatedArchive], replay: SegmentReplay, baseLSN: LSN,
                                      tables: [TableDefinitions.Table]) throws -> LSN {
        var last = baseLSN
        _ = try replay.walk(chain, from: baseLSN, until: given, tables: tables) { change, _, _ in
            if let lsn = LSN(change.lsn) { last = lsn }
        }
        return last
    }

    /// A scratch database with the base (and its chain to `until`) restored, dropped after `body`.
    private static func withScratch<T>(_ request: LossRequest, restoring until: ReplayTarget?, _ body: (PostgresConnection) throws -> T) throws -> T {
        let scratch = try ScratchDatabase(adminURL: request.scratchDatabaseURL, cleanup: request.cleanup)
        defer { scratch.drop() }
        let connection = try scratch.connect()
        var restore = RestoreRequest(archive: request.base, databaseURL: "", keys: request.keys, tables: [], policy: request.policy)
        restore.createTables = true
        restore.limits = request.limits
        restore.storeSettings = request.storeSettings
        restore.until = until
        _ = try Restorer.run(restore, into: connection)
        return try body(connection)
    }

    /// Pass 1: replays the whole chain in `scratch`, comparing the target after each change.
    private static func findPoint(chain: [GatedArchive], replay: SegmentReplay, baseLSN: LSN, tables: [TableDefinitions.Table],
                                  scratch: PostgresConnection, target: PostgresConnection) throws -> (lsn: LSN, commit: String?, notes: [String]) {
        let statements = statementsByTable(tables)
        var found: (lsn: LSN, commit: String?) = (baseLSN, nil)
        var current: (lsn: String, commit: String, effect: Bool, shown: Bool)?
        var laterWithEffect = 0
        func close() {
            guard let transaction = current, transaction.effect else { return }
            if transaction.shown, let lsn = LSN(transaction.lsn) {
                found = (lsn, transaction.commit)
                laterWithEffect = 0
            } else {
                laterWithEffect += 1
            }
        }
        _ = try replay.walk(chain, from: baseLSN, until: .latest, tables: tables) { change, segment, line in
            if current?.lsn != change.lsn {
                close()
                current = (change.lsn, change.committedAt, false, true)
            }
            if change.operation == .truncate {
                try truncate(change, statements, on: scratch)
                return
            }
            guard let table = statements[change.table] else { return }
            let oldKey = change.oldKey ?? change.key
            let before = try table.row(oldKey, on: scratch)
            try applyToScratch(change, table, scratch, segment: segment, line: line)
            let after = change.operation == .delete ? nil : try table.row(change.key, on: scratch)
            // A filtered table's delete may be a row that left the filter: no evidence either way.
            guard before != after || oldKey != change.key, table.table.filter == nil else { return }
            current?.effect = true
            let underKey = try table.row(change.key, on: target)
            let oldGone = oldKey == change.key || change.operation == .delete ? true : try table.row(oldKey, on: target) == nil
            let shown = underKey == after && oldGone
            if !shown { current?.shown = false }
        }
        close()
        var notes: [String] = []
        if found.lsn == baseLSN {
            notes.append("the restored database shows none of the chain's changes: it is at the base's position \(baseLSN) or before it — if before, a base taken before the restore point gives the full answer")
        }
        notes.append("\(laterWithEffect) later transaction(s) with an effect are not (wholly) shown by the restored database")
        return (found.lsn, found.commit, notes)
    }

    /// Pass 2: every change after `point`, decided against the scratch rows and put back.
    private static func putBack(after point: LSN, request: LossRequest, chain: [GatedArchive], replay: SegmentReplay,
                                tables: [TableDefinitions.Table], scratch: PostgresConnection, target: PostgresConnection,
                                report: inout LossReport) throws {
        let statements = statementsByTable(tables)
        try target.run(script: "BEGIN")
        do {
            var lastLSN: String?
            _ = try replay.walk(chain, from: LSN(point.value &+ 1), until: .latest, tables: tables) { change, segment, line in
                if change.lsn != lastLSN { report.lostTransactions += 1; lastLSN = change.lsn }
                report.lostChanges += 1
                let action = try decide(change, statements: statements, request: request, scratch: scratch, target: target, segment: segment, line: line)
                switch action {
                case "put back": report.putBack += 1
                case "already there": report.alreadyThere += 1
                case "left alone": report.leftAlone += 1; report.conflicts += 1
                case "overwritten": report.overwritten += 1; report.conflicts += 1
                case "conflict": report.conflicts += 1
                default: report.notPutBack += 1
                }
                if report.changes.count < request.show {
                    report.changes.append(.init(lsn: change.lsn, xid: change.xid, committedAt: change.committedAt, operation: change.operation.rawValue,
                                                table: change.operation == .truncate ? change.tables.joined(separator: ", ") : change.table,
                                                key: change.key, action: action))
                }
            }
            if request.putBack {
                try target.execute("COMMIT")
                report.written = true
            } else {
                _ = try? target.execute("ROLLBACK")
            }
        } catch {
            _ = try? target.execute("ROLLBACK")
            throw error
        }
    }

    /// What one lost change does to the restored database (and always to the scratch one).
    private static func decide(_ change: ChangeLineDecoder.Change, statements: [String: ChangeStatements], request: LossRequest,
                               scratch: PostgresConnection, target: PostgresConnection, segment: String, line: Int) throws -> String {
        if change.operation == .truncate {
            try truncate(change, statements, on: scratch)
            return "not put back: a truncate is never replayed onto a live database (empty the tables by hand if it is meant)"
        }
        guard let table = statements[change.table] else { return "not put back: the table is not in the base" }
        let oldKey = change.oldKey ?? change.key
        let expected = try table.row(oldKey, on: scratch)
        try applyToScratch(change, table, scratch, segment: segment, line: line)
        let after = change.operation == .delete ? nil : try table.row(change.key, on: scratch)
        if table.table.filter != nil {
            return "not put back: the table has a filter, and a change may be a row entering or leaving it (recover the rows by key)"
        }
        let keyChanged = oldKey != change.key
        // Rows locked as read: the application cannot change them between the look and the write.
        let now = try locked(table, oldKey, target)
        let nowUnderNewKey = keyChanged ? try locked(table, change.key, target) : now
        if nowUnderNewKey == after && (!keyChanged || now == nil) { return "already there" }
        if now == expected && (!keyChanged || nowUnderNewKey == nil) {
            try write(table) { try table.apply(change, on: target) }
            return "put back"
        }
        switch request.onConflict {
        case .skip:
            return "left alone"
        case .update:
            try write(table) { try table.force(after, removing: change.operation == .delete || keyChanged ? oldKey : nil, on: target) }
            return "overwritten"
        case .fail:
            guard !request.putBack else {
                throw LossError.conflict(table: change.table, key: change.key.map { $0 ?? "NULL" }.joined(separator: ", "), lsn: change.lsn)
            }
            return "conflict"
        }
    }

    private static func locked(_ table: ChangeStatements, _ key: [String?], _ target: PostgresConnection) throws -> [String?]? {
        try table.row(key, on: target, forUpdate: true)
    }

    private static func write(_ table: ChangeStatements, _ body: () throws -> Void) throws {
        do { try body() } catch let error as PostgresError {
            throw LossError.refused(table: table.table.qualifiedName, reason: "\(error)")
        } catch let conflict as ChangeStatements.Conflict {
            throw LossError.refused(table: table.table.qualifiedName, reason: conflict.description)
        }
    }

    private static func applyToScratch(_ change: ChangeLineDecoder.Change, _ table: ChangeStatements, _ scratch: PostgresConnection,
                                       segment: String, line: Int) throws {
        do { try table.apply(change, on: scratch) } catch let problem as ChangeStatements.Conflict {
            throw ReplayError.conflict(segment: segment, line: line, problem: problem.description)
        }
    }

    private static func truncate(_ change: ChangeLineDecoder.Change, _ statements: [String: ChangeStatements], on scratch: PostgresConnection) throws {
        let names = change.tables.compactMap { statements[$0]?.name }
        if !names.isEmpty { try scratch.execute("TRUNCATE \(names.joined(separator: ", "))") }
    }

    private static func statementsByTable(_ tables: [TableDefinitions.Table]) -> [String: ChangeStatements] {
        Dictionary(tables.map { ($0.qualifiedName, ChangeStatements($0)) }, uniquingKeysWith: { a, _ in a })
    }
}
