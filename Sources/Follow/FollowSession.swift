import ArchiveFormat
import ByteStreams
import CanonicalJSON
import ChangeCapture
import DatabaseCatalog
import Foundation
import Logging
import ObjectStore
import Postgres

/// One streaming session of a chain: START_REPLICATION from the sealed position, transactions
/// assembled, filtered and written as change lines into the open segment, segments sealed on
/// time and size, and the slot told each sealed position — never one before it is sealed.
final class FollowSession {
    private let settings: FollowSettings
    private let logger: Logger
    private let stop: StopRequest
    private let store: ObjectStore
    private let connection: PostgresConnection
    private let replication: PostgresConnection
    private let plans: [String: TablePlan]
    private let definitions: TableDefinitions
    private let filter: RowFilter
    private var position: Follower.ChainPosition
    private var projections: [String: TableProjection] = [:]
    private var segment: SegmentWriter?
    /// Every transaction committed before this is in the open segment or a sealed one.
    private var segmentEnd: LSN
    private var received = LSN.zero
    private var lastSeal = Date()
    private let line = ByteBuffer(capacity: 64 << 10)
    /// The open transaction's lines (nil between transactions, or for one sealed before).
    private var spool: TransactionSpool?
    /// The spools' memory, reused from one transaction to the next.
    private let spoolBuffer = ByteBuffer(capacity: 64 << 10)
    /// Changes of the open transaction whose filter decisions are still on their way.
    private var pending: [PendingChange] = []
    private var pendingBytes = 0
    private let metrics: FollowMetrics

    init(settings: FollowSettings, logger: Logger, stop: StopRequest, store: ObjectStore, connection: PostgresConnection,
         replication: PostgresConnection, plans: [TablePlan], position: Follower.ChainPosition, metrics: FollowMetrics) throws {
        self.settings = settings
        self.metrics = metrics
        self.logger = logger
        self.stop = stop
        self.store = store
        self.connection = connection
        self.replication = replication
        self.plans = Dictionary(plans.map { ($0.qualifiedName, $0) }, uniquingKeysWith: { a, _ in a })
        self.definitions = try Self.definitions(of: plans, on: connection)
        self.filter = RowFilter(connection: connection)
        self.position = position
        segmentEnd = position.sealedUpTo
    }

    static func definitions(of plans: [TablePlan], on connection: PostgresConnection) throws -> TableDefinitions {
        let types = try TypeCollector.collect(plans, on: connection)
        return TableDefinitions(tables: plans.map {
            TableDefinitions.Table(schema: $0.schema, name: $0.name, columns: $0.manifestColumns, key: $0.keyColumns, filter: $0.filter)
        }, types: types.isEmpty ? nil : types)
    }

    func run(into result: inout FollowResult) throws {
        defer {
            segment?.abort()
            // Decisions of a transaction that was not sealed: read and dropped, the connection freed.
            try? filter.flush()
        }
        let target = try settings.untilCaughtUp ? connection.execute("SELECT pg_current_wal_insert_lsn()::text").scalar.flatMap { LSN($0) } : nil
        let command = "START_REPLICATION SLOT \(settings.slot) LOGICAL \(position.sealedUpTo) (proto_version '1', publication_names '\(settings.publication)')"
        let stream: ReplicationStream
        do { stream = try replication.startReplication(command) } catch {
            if case .statementFailed(let state, _, _, _, _) = error, state == "55006" {
                throw FollowError.slotInUse(slot: settings.slot, detail: "\(error)")
            }
            throw error
        }
        logger.info("following slot \(settings.slot) from \(position.sealedUpTo)\(target.map { ", until caught up with \($0)" } ?? "")")
        try sendStatus(stream, replyRequested: false)
        result.sealedLSN = position.sealedUpTo.description
        do {
            try follow(stream, target: target, into: &result)
        } catch let error as FollowError {
            // A changed definition ends the chain where the change begins: what came before is
            // complete and is sealed, then the caller starts a new chain.
            if case .definitionChanged = error, segment != nil || segmentEnd > position.sealedUpTo {
                try seal(into: &result, stream: stream)
            }
            throw error
        }
        if segment != nil || segmentEnd > position.sealedUpTo {
            try seal(into: &result, stream: stream)
        }
        result.sealedLSN = position.sealedUpTo.description
    }

    private func follow(_ stream: ReplicationStream, target: LSN?, into result: inout FollowResult) throws {
        var assembler = TransactionAssembler()
        var lastStatus = Date()
        var serverEnd = LSN.zero
        var serverEndSince = Date()
        while true {
            if stop.isRequested {
                logger.notice("stop requested: sealing the open segment")
                break
            }
            var message: ReplicationMessage?
            let next = try stream.next(timeout: 1) { bytes in message = try ReplicationMessage.decode(bytes) }
            if next == .ended { throw FollowError.stream("the server ended the replication stream") }
            switch message {
            case .walData(_, let end, _, let payload)?:
                received = max(received, end)
                let decoded = try payload.withUnsafeBytes { raw throws(WireError) in try PgOutputMessage.decode(raw) }
                if case .relation(let relation) = decoded { try describe(relation) }
                if let event = try assembler.stream(decoded) { try handle(event) }
            case .keepalive(let end, _, let reply)?:
                if end != serverEnd { serverEndSince = Date() }
                serverEnd = end
                received = max(received, end)
                // Idle: every transaction committed before the server's position has been sent.
                if assembler.isIdle, end > segmentEnd { segmentEnd = end }
                if reply { try sendStatus(stream, replyRequested: false); lastStatus = Date() }
            case nil:
                break
            }
            // A segment holds only committed transactions, and its end never passes one still
            // open: it can be sealed in the middle of one.
            try sealIfDue(into: &result, stream: stream)
            if assembler.isIdle {
                if let target, segmentEnd >= target || (Date().timeIntervalSince(serverEndSince) > 5 && serverEnd > .zero) {
                    // Caught up: everything before the target is sealed once the segment is.
                    // (The server's position not moving for seconds while idle means the same:
                    // nothing more to decode — the target may lie past the last record's end.)
                    result.caughtUp = true
                    break
                }
            }
            if Date().timeIntervalSince(lastStatus) >= (target == nil ? settings.statusInterval : 1) {
                try sendStatus(stream, replyRequested: target != nil)
                lastStatus = Date()
                // The slot as the server sees it, for /metrics; a failed look is no reason to stop.
                // (Decisions still on their way are read first: the connection is then free.)
                try flushPending()
                if let health = try? SlotHealth.read(connection, slot: settings.slot) { metrics.observe(health) }
                do { try metrics.publish() } catch { logger.warning("the metrics file cannot be written: \(error)") }
            }
        }
    }

    // MARK: Segments

    private func sealIfDue(into result: inout FollowResult, stream: ReplicationStream) throws {
        if let segment {
            guard Date().timeIntervalSince(segment.opened) >= settings.segmentInterval || segment.lineBytes >= Int64(settings.segmentMaxBytes) else { return }
        } else {
            guard segmentEnd > position.sealedUpTo, Date().timeIntervalSince(lastSeal) >= settings.idleSealInterval else { return }
        }
        try seal(into: &result, stream: stream)
    }

    private func seal(into result: inout FollowResult, stream: ReplicationStream) throws {
        let writer = try segment ?? openSegment()
        let sealed = try writer.seal(toLSN: segmentEnd, base: position.base, previous: position.previous, settings: settings)
        segment = nil
        position.previous = sealed.link
        position.sequence = writer.sequence
        position.sealedUpTo = segmentEnd
        lastSeal = Date()
        result.segments.append(FollowResult.Segment(key: sealed.key, fromLSN: writer.fromLSN.description, toLSN: segmentEnd.description,
                                                    transactions: writer.transactions, changes: writer.changes))
        result.sealedLSN = segmentEnd.description
        metrics.sealed(changes: writer.changes, lastCommit: sealed.seal.changes?.lastCommit)
        try? metrics.publish()
        logger.info("sealed segment \(store.location(of: sealed.key)): \(writer.transactions) transaction(s), \(writer.changes) change(s), \(writer.fromLSN)–\(segmentEnd)")
        // Durable in the store: now, and only now, the server may forget what came before.
        try sendStatus(stream, replyRequested: false)
    }

    private func openSegment() throws -> SegmentWriter {
        let writer = try SegmentWriter(store: store, settings: settings, definitions: definitions, fromLSN: position.sealedUpTo,
                                       sequence: position.sequence + 1)
        segment = writer
        return writer
    }

    private func sendStatus(_ stream: ReplicationStream, replyRequested: Bool) throws {
        let flushed = position.sealedUpTo
        try stream.send(ReplicationMessage.statusUpdate(written: max(received, flushed), flushed: flushed, applied: flushed,
                                                        at: ReplicationMessage.postgresTime(unixSeconds: Date().timeIntervalSince1970),
                                                        replyRequested: replyRequested))
    }

    // MARK: Changes

    /// A Relation message: the first for a table sets its projection; a later one that changes
    /// what the profile reads of it is a changed definition.
    private func describe(_ relation: PgOutputMessage.Relation) throws {
        let name = relation.namespace + "." + relation.name
        guard let plan = plans[name] else { return }
        let projection = try TableProjection(plan: plan, relation: relation)
        if let known = projections[name], !known.sameDefinition(as: relation) {
            let selection = settings.export.profile.tables.first { $0.qualifiedName == name }
            let added = relation.columns.filter { column in !known.relation.columns.contains { $0.name == column.name } }.map(\.name)
            let excluded = selection?.excludeColumns ?? []
            let newlyExported = selection?.columns == nil ? added.filter { !excluded.contains($0) } : []
            let retyped = plan.columns.contains { column in
                known.relation.columns.first { $0.name == column.name }?.typeOID != relation.columns.first { $0.name == column.name }?.typeOID
            }
            if !newlyExported.isEmpty || retyped || known.relation.replicaIdentity != relation.replicaIdentity {
                throw FollowError.definitionChanged(table: name, detail: newlyExported.isEmpty ? "a column's type or the replica identity changed"
                                                    : "new column(s) \(newlyExported.joined(separator: ", ")) the profile exports")
            }
        }
        projections[name] = projection
    }

    /// A transaction's lines go to its spool as its changes come, and into the segment at its
    /// Commit: a segment only ever holds whole committed transactions.
    private func handle(_ event: TransactionAssembler.Event) throws {
        switch event {
        case .begin(let stamp):
            // Sealed before (a segment written, its position not yet confirmed): never twice.
            spool = stamp.commitLSN >= position.sealedUpTo
                ? TransactionSpool(stamp: stamp, memoryBytes: settings.spoolMemoryBytes, maxBytes: settings.maxTransactionBytes, buffer: spoolBuffer)
                : nil
        case .change(let change):
            guard let spool else { return }
            switch change {
            case .row(let row):
                guard let projection = projections[row.table] else { return }
                let whole = Self.completed(row)
                // A filtered table's decisions are queued and answered a batch at a time.
                let decision = try filter.queue(old: whole.oldKey, new: whole.row, of: projection)
                pending.append(PendingChange(change: whole, projection: projection, decision: decision))
                pendingBytes += Self.size(whole)
                if pending.count >= Self.pendingLimit || pendingBytes >= settings.spoolMemoryBytes { try flushPending() }
            case .truncate(let tables):
                try flushPending()
                let ours = tables.filter { plans[$0] != nil }
                guard !ours.isEmpty else { return }
                line.count = 0
                ChangeLine.appendTruncate(of: ours, stamp: spool.stamp, to: line)
                try spool.add(line: line, table: nil)
            }
        case .commit(let stamp, let endLSN):
            try flushPending()
            defer { spool = nil }
            if let spool, spool.lines > 0 {
                if spool.spilled { logger.info("transaction \(stamp.xid): \(spool.lines) change(s), \(spool.bytes >> 20) MiB, spooled to disk") }
                let writer = try segment ?? openSegment()
                try spool.drain { try writer.add(line: $0) }
                writer.noteTransaction(stamp, tableCounts: spool.tableCounts)
            }
            segmentEnd = max(segmentEnd, endLSN)
        }
    }

    /// The most changes waiting for their filter's answers at once.
    static let pendingLimit = 256

    /// The changes waiting for their decisions, written to the transaction's spool in order.
    private func flushPending() throws {
        guard !pending.isEmpty else { return }
        try filter.flush()
        defer {
            pending.removeAll(keepingCapacity: true)
            pendingBytes = 0
        }
        guard let spool else { return }
        for waiting in pending {
            guard let profiled = try profiled(waiting.change, waiting.projection, waiting.decision) else { continue }
            line.count = 0
            try ChangeLine.append(profiled, of: waiting.projection.table, stamp: spool.stamp, to: line)
            try spool.add(line: line, table: waiting.projection.table.name)
        }
    }

    /// The change with its new row whole: under REPLICA IDENTITY FULL the old row is whole, and
    /// an unchanged TOASTed value is taken from it, so that a row entering the view is complete.
    static func completed(_ change: RowChange) -> RowChange {
        guard let old = change.oldKey, var row = change.row, old.count == row.count else { return change }
        for index in row.indices where row[index] == .unchangedToast { row[index] = old[index] }
        return RowChange(operation: change.operation, table: change.table, row: row, oldKey: old)
    }

    static func size(_ change: RowChange) -> Int {
        [change.row ?? [], change.oldKey ?? []].joined().reduce(into: 64) { total, value in
            if case .text(let bytes) = value { total += bytes.count + 16 } else { total += 8 }
        }
    }

    /// The change as the profile sees it: its columns; with a filter, a row entering the
    /// profile's view is an insert, one leaving it a delete, one outside it nothing.
    private func profiled(_ change: RowChange, _ projection: TableProjection, _ decision: RowFilter.Decision) throws -> RowChange? {
        let newRow = change.row
        let oldRow = change.oldKey
        var operation = change.operation
        if projection.plan.filter != nil {
            switch (operation, decision.old, decision.new) {
            case (.insert, _, true), (.update, true, true): break
            case (.update, false, true): operation = .insert
            case (.update, true, false), (.delete, true, _): operation = .delete
            default: return nil
            }
        }
        func project(_ values: [PgOutputMessage.TupleValue]?) throws -> [PgOutputMessage.TupleValue]? {
            guard let values else { return nil }
            guard let projected = projection.project(values) else {
                throw FollowError.definitionChanged(table: projection.plan.qualifiedName, detail: "a row of \(values.count) values where the table had \(projection.relation.columns.count)")
            }
            return projected
        }
        switch operation {
        case .insert: return RowChange(operation: .insert, table: change.table, row: try project(newRow), oldKey: nil)
        case .update: return RowChange(operation: .update, table: change.table, row: try project(newRow), oldKey: try project(oldRow))
        case .delete: return RowChange(operation: .delete, table: change.table, row: nil, oldKey: try project(oldRow ?? newRow))
        }
    }
}

/// A change waiting for its filter's answer.
private struct PendingChange {
    let change: RowChange
    let projection: TableProjection
    let decision: RowFilter.Decision
}
