/// Turns the stream of pgoutput messages into committed transactions: the relations the server
/// described, a transaction's changes between its Begin and its Commit, each change named by
/// its table. `stream` hands each change on as it comes, with the transaction's stamp (pgoutput's
/// Begin already carries the commit's LSN and time), so that the follower spools a transaction
/// of any size without holding it; `take` gathers whole transactions in memory, bounded by
/// `maxBytes` of values (a larger one is an error, never a growing heap).
package struct TransactionAssembler {
    /// What one message means for the transaction it belongs to.
    package enum Event: Equatable {
        case begin(CommitStamp)
        case change(Change)
        case commit(CommitStamp, endLSN: LSN)
    }

    package enum Change: Equatable {
        case row(RowChange)
        case truncate(tables: [String])
    }

    package struct Transaction: Equatable {
        package let stamp: CommitStamp
        package let endLSN: LSN
        package let changes: [Change]
    }

    package enum AssemblyError: Error, Equatable, CustomStringConvertible {
        case outOfOrder(String)
        case unknownRelation(UInt32)
        case tooLarge(xid: UInt32, limit: Int)

        package var description: String {
            switch self {
            case .outOfOrder(let what): "the replication stream is out of order: \(what)"
            case .unknownRelation(let id): "a change names relation \(id), which the stream never described"
            case .tooLarge(let xid, let limit): "transaction \(xid) holds more than \(limit) bytes of changes"
            }
        }
    }

    package let maxBytes: Int
    private(set) package var relations: [UInt32: PgOutputMessage.Relation] = [:]
    private var open: (finalLSN: LSN, committedAt: Int64, xid: UInt32)?
    private var changes: [Change] = []
    private var bytes = 0

    package init(maxBytes: Int = 256 << 20) { self.maxBytes = maxBytes }

    /// Between transactions: every transaction the stream began has been committed and handed on.
    package var isIdle: Bool { open == nil }

    /// Takes one message; returns the transaction its Commit completes, every change held till then.
    package mutating func take(_ message: PgOutputMessage) throws(AssemblyError) -> Transaction? {
        switch try stream(message) {
        case .begin?:
            changes = []
            bytes = 0
        case .change(let change)?:
            bytes += Self.size(change) + 32
            guard bytes <= maxBytes else { throw .tooLarge(xid: open?.xid ?? 0, limit: maxBytes) }
            changes.append(change)
        case .commit(let stamp, let endLSN)?:
            defer { changes = []; bytes = 0 }
            return Transaction(stamp: stamp, endLSN: endLSN, changes: changes)
        case nil:
            break
        }
        return nil
    }

    /// Takes one message; returns what it means for its transaction (nil: nothing, a relation
    /// or type described, an origin or a logical message).
    package mutating func stream(_ message: PgOutputMessage) throws(AssemblyError) -> Event? {
        switch message {
        case .relation(let relation):
            relations[relation.id] = relation
        case .type, .origin, .message:
            break
        case .begin(let finalLSN, let committedAt, let xid):
            guard open == nil else { throw .outOfOrder("a Begin inside transaction \(open?.xid ?? 0)") }
            open = (finalLSN, committedAt, xid)
            return .begin(CommitStamp(xid: xid, commitLSN: finalLSN, committedAt: committedAt))
        case .insert(let id, let new):
            return try change(.row(RowChange(operation: .insert, table: try name(id), row: new, oldKey: nil)))
        case .update(let id, let old, let new):
            let oldValues: [PgOutputMessage.TupleValue]? = old.map { tuple in
                switch tuple { case .key(let values), .row(let values): values }
            }
            return try change(.row(RowChange(operation: .update, table: try name(id), row: new, oldKey: oldValues)))
        case .delete(let id, let old):
            let oldValues: [PgOutputMessage.TupleValue] = switch old { case .key(let v), .row(let v): v }
            return try change(.row(RowChange(operation: .delete, table: try name(id), row: nil, oldKey: oldValues)))
        case .truncate(let ids, _, _):
            var names: [String] = []
            for id in ids { names.append(try name(id)) }
            return try change(.truncate(tables: names))
        case .commit(let commitLSN, let endLSN, let committedAt):
            guard let transaction = open else { throw .outOfOrder("a Commit outside a transaction") }
            guard commitLSN == transaction.finalLSN else { throw .outOfOrder("Commit at \(commitLSN), Begin said \(transaction.finalLSN)") }
            open = nil
            return .commit(CommitStamp(xid: transaction.xid, commitLSN: commitLSN, committedAt: committedAt), endLSN: endLSN)
        }
        return nil
    }

    private func name(_ id: UInt32) throws(AssemblyError) -> String {
        guard let relation = relations[id] else { throw .unknownRelation(id) }
        return relation.namespace.isEmpty ? "pg_catalog.\(relation.name)" : "\(relation.namespace).\(relation.name)"
    }

    private func change(_ change: Change) throws(AssemblyError) -> Event {
        guard open != nil else { throw .outOfOrder("a change outside a transaction") }
        return .change(change)
    }

    /// What a change's values weigh in memory, roughly.
    private static func size(_ change: Change) -> Int {
        switch change {
        case .row(let row): size(row.row ?? []) + size(row.oldKey ?? [])
        case .truncate(let tables): tables.count * 64
        }
    }

    private static func size(_ values: [PgOutputMessage.TupleValue]) -> Int {
        values.reduce(into: 0) { total, value in if case .text(let bytes) = value { total += bytes.count + 8 } else { total += 1 } }
    }
}
