/// Turns the stream of pgoutput messages into committed transactions: the relations the server
/// described, a transaction's changes between its Begin and its Commit, each change named by
/// its table. What it holds is bounded (`maxBytes` of values a transaction): a larger one is an
/// error, never a growing heap — spooling to disk is the follower's next step.
package struct TransactionAssembler {
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

    /// Takes one message; returns the transaction its Commit completes.
    package mutating func take(_ message: PgOutputMessage) throws(AssemblyError) -> Transaction? {
        switch message {
        case .relation(let relation):
            relations[relation.id] = relation
        case .type, .origin, .message:
            break
        case .begin(let finalLSN, let committedAt, let xid):
            guard open == nil else { throw .outOfOrder("a Begin inside transaction \(open?.xid ?? 0)") }
            open = (finalLSN, committedAt, xid)
            changes = []
            bytes = 0
        case .insert(let id, let new):
            try add(.row(RowChange(operation: .insert, table: try name(id), row: new, oldKey: nil)), size: Self.size(new))
        case .update(let id, let old, let new):
            let oldValues: [PgOutputMessage.TupleValue]? = old.map { tuple in
                switch tuple { case .key(let values), .row(let values): values }
            }
            try add(.row(RowChange(operation: .update, table: try name(id), row: new, oldKey: oldValues)), size: Self.size(new) + Self.size(oldValues ?? []))
        case .delete(let id, let old):
            let oldValues: [PgOutputMessage.TupleValue] = switch old { case .key(let v), .row(let v): v }
            try add(.row(RowChange(operation: .delete, table: try name(id), row: nil, oldKey: oldValues)), size: Self.size(oldValues))
        case .truncate(let ids, _, _):
            var names: [String] = []
            for id in ids { names.append(try name(id)) }
            try add(.truncate(tables: names), size: names.count * 64)
        case .commit(let commitLSN, let endLSN, let committedAt):
            guard let transaction = open else { throw .outOfOrder("a Commit outside a transaction") }
            guard commitLSN == transaction.finalLSN else { throw .outOfOrder("Commit at \(commitLSN), Begin said \(transaction.finalLSN)") }
            open = nil
            defer { changes = []; bytes = 0 }
            return Transaction(stamp: CommitStamp(xid: transaction.xid, commitLSN: commitLSN, committedAt: committedAt), endLSN: endLSN, changes: changes)
        }
        return nil
    }

    private func name(_ id: UInt32) throws(AssemblyError) -> String {
        guard let relation = relations[id] else { throw .unknownRelation(id) }
        return relation.namespace.isEmpty ? "pg_catalog.\(relation.name)" : "\(relation.namespace).\(relation.name)"
    }

    private mutating func add(_ change: Change, size: Int) throws(AssemblyError) {
        guard let transaction = open else { throw .outOfOrder("a change outside a transaction") }
        bytes += size + 32
        guard bytes <= maxBytes else { throw .tooLarge(xid: transaction.xid, limit: maxBytes) }
        changes.append(change)
    }

    private static func size(_ values: [PgOutputMessage.TupleValue]) -> Int {
        values.reduce(into: 0) { total, value in if case .text(let bytes) = value { total += bytes.count + 8 } else { total += 1 } }
    }
}
