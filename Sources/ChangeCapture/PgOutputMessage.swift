/// One message of the `pgoutput` plugin, protocol version 1 (PostgreSQL's protocol
/// documentation, "Logical Replication Message Formats"), decoded from bytes the server sent —
/// which pgseal treats as it treats every byte from outside: bounded, checked, never trusted to
/// be well formed.
package enum PgOutputMessage: Equatable {
    case begin(finalLSN: LSN, committedAt: Int64, xid: UInt32)
    case commit(commitLSN: LSN, endLSN: LSN, committedAt: Int64)
    case origin(lsn: LSN, name: String)
    case relation(Relation)
    case type(oid: UInt32, namespace: String, name: String)
    case insert(relation: UInt32, new: [TupleValue])
    /// `old` is the old key (`K`, when the key changed) or the old row (`O`, REPLICA IDENTITY
    /// FULL); nil when neither was sent.
    case update(relation: UInt32, old: OldTuple?, new: [TupleValue])
    case delete(relation: UInt32, old: OldTuple)
    case truncate(relations: [UInt32], cascade: Bool, restartIdentity: Bool)
    case message(transactional: Bool, lsn: LSN, prefix: String, content: [UInt8])

    package struct Relation: Equatable {
        package let id: UInt32
        package let namespace: String
        package let name: String
        /// `relreplident`: d(efault, the primary key), n(othing), f(ull), i(ndex).
        package let replicaIdentity: UInt8
        package let columns: [Column]

        package init(id: UInt32, namespace: String, name: String, replicaIdentity: UInt8, columns: [Column]) {
            self.id = id
            self.namespace = namespace
            self.name = name
            self.replicaIdentity = replicaIdentity
            self.columns = columns
        }
    }

    package struct Column: Equatable {
        package let isKey: Bool
        package let name: String
        package let typeOID: UInt32
        package let typeModifier: Int32
    }

    package enum OldTuple: Equatable {
        case key([TupleValue])
        case row([TupleValue])
    }

    package enum TupleValue: Equatable {
        case null
        /// A TOASTed value the change left as it was: the server does not send it. Never read as
        /// empty or null: the value is the row's previous one.
        case unchangedToast
        case text([UInt8])
    }

    /// What a message may cost: PostgreSQL allows at most 1,664 columns a row and 1 GB a value;
    /// names are at most 63 bytes (NAMEDATALEN), given room here.
    package static let maxColumns = 1664
    package static let maxValueBytes = 1 << 30

    package static func decode(_ bytes: UnsafeRawBufferPointer) throws(WireError) -> PgOutputMessage {
        var reader = WireReader(bytes)
        let message = try decode(&reader)
        guard reader.isAtEnd else { throw .invalid(field: "message", reason: "has \(reader.remaining) bytes after its end") }
        return message
    }

    private static func decode(_ reader: inout WireReader) throws(WireError) -> PgOutputMessage {
        switch try reader.byte("message type") {
        case UInt8(ascii: "B"):
            return .begin(finalLSN: LSN(try reader.uint64("final LSN")), committedAt: try reader.int64("commit time"), xid: try reader.uint32("xid"))
        case UInt8(ascii: "C"):
            _ = try reader.byte("commit flags")
            return .commit(commitLSN: LSN(try reader.uint64("commit LSN")), endLSN: LSN(try reader.uint64("end LSN")),
                           committedAt: try reader.int64("commit time"))
        case UInt8(ascii: "O"):
            return .origin(lsn: LSN(try reader.uint64("origin LSN")), name: try reader.string("origin name"))
        case UInt8(ascii: "R"):
            return .relation(try relation(&reader))
        case UInt8(ascii: "Y"):
            return .type(oid: try reader.uint32("type OID"), namespace: try reader.string("type namespace"), name: try reader.string("type name"))
        case UInt8(ascii: "I"):
            let relation = try reader.uint32("relation")
            guard try reader.byte("tuple kind") == UInt8(ascii: "N") else { throw .invalid(field: "insert", reason: "has no new tuple") }
            return .insert(relation: relation, new: try tuple(&reader))
        case UInt8(ascii: "U"):
            let relation = try reader.uint32("relation")
            var kind = try reader.byte("tuple kind")
            var old: OldTuple?
            if kind == UInt8(ascii: "K") || kind == UInt8(ascii: "O") {
                let values = try tuple(&reader)
                old = kind == UInt8(ascii: "K") ? .key(values) : .row(values)
                kind = try reader.byte("tuple kind")
            }
            guard kind == UInt8(ascii: "N") else { throw .invalid(field: "update", reason: "has no new tuple") }
            return .update(relation: relation, old: old, new: try tuple(&reader))
        case UInt8(ascii: "D"):
            let relation = try reader.uint32("relation")
            let kind = try reader.byte("tuple kind")
            guard kind == UInt8(ascii: "K") || kind == UInt8(ascii: "O") else { throw .invalid(field: "delete", reason: "has no old key or row") }
            let values = try tuple(&reader)
            return .delete(relation: relation, old: kind == UInt8(ascii: "K") ? .key(values) : .row(values))
        case UInt8(ascii: "T"):
            let count = try reader.uint32("relation count")
            let options = try reader.byte("truncate options")
            guard Int(count) <= reader.remaining / 4 else { throw .truncated(field: "truncated relations", at: reader.offset) }
            var relations: [UInt32] = []
            for _ in 0..<count { relations.append(try reader.uint32("truncated relation")) }
            return .truncate(relations: relations, cascade: options & 1 != 0, restartIdentity: options & 2 != 0)
        case UInt8(ascii: "M"):
            let flags = try reader.byte("message flags")
            let lsn = LSN(try reader.uint64("message LSN"))
            let prefix = try reader.string("message prefix")
            let length = try reader.int32("message length")
            return .message(transactional: flags & 1 != 0, lsn: lsn, prefix: prefix, content: try reader.bytes(Int(length), "message content"))
        case let other:
            throw .invalid(field: "message type", reason: "is \(other), which pgoutput version 1 does not send")
        }
    }

    private static func relation(_ reader: inout WireReader) throws(WireError) -> Relation {
        let id = try reader.uint32("relation ID")
        let namespace = try reader.string("relation namespace")
        let name = try reader.string("relation name")
        let identity = try reader.byte("replica identity")
        let count = Int(try reader.uint16("column count"))
        guard count <= maxColumns else { throw .invalid(field: "column count", reason: "is \(count), more than PostgreSQL allows") }
        var columns: [Column] = []
        columns.reserveCapacity(count)
        for _ in 0..<count {
            let flags = try reader.byte("column flags")
            columns.append(Column(isKey: flags & 1 != 0, name: try reader.string("column name"),
                                  typeOID: try reader.uint32("column type"), typeModifier: try reader.int32("column type modifier")))
        }
        return Relation(id: id, namespace: namespace, name: name, replicaIdentity: identity, columns: columns)
    }

    private static func tuple(_ reader: inout WireReader) throws(WireError) -> [TupleValue] {
        let count = Int(try reader.uint16("tuple column count"))
        guard count <= maxColumns else { throw .invalid(field: "tuple column count", reason: "is \(count), more than PostgreSQL allows") }
        var values: [TupleValue] = []
        values.reserveCapacity(count)
        for _ in 0..<count {
            switch try reader.byte("value kind") {
            case UInt8(ascii: "n"): values.append(.null)
            case UInt8(ascii: "u"): values.append(.unchangedToast)
            case UInt8(ascii: "t"):
                let length = try reader.int32("value length")
                guard length >= 0, Int(length) <= maxValueBytes else { throw .invalid(field: "value length", reason: "is \(length)") }
                values.append(.text(try reader.bytes(Int(length), "value")))
            case let other:
                throw .invalid(field: "value kind", reason: "is \(other); pgseal asks for text values")
            }
        }
        return values
    }
}
