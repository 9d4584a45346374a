/// The streaming replication protocol's messages inside COPY BOTH (PostgreSQL's protocol
/// documentation, "Streaming Replication Protocol"): the server sends WAL data and keepalives;
/// the client answers with standby status updates.
package enum ReplicationMessage: Equatable {
    /// `w`: WAL data starting at `start`; `payload` is one pgoutput message.
    case walData(start: LSN, end: LSN, sentAt: Int64, payload: [UInt8])
    /// `k`: the server's WAL end; `replyRequested` asks for a status update at once.
    case keepalive(end: LSN, sentAt: Int64, replyRequested: Bool)

    package static func decode(_ bytes: UnsafeRawBufferPointer) throws(WireError) -> ReplicationMessage {
        var reader = WireReader(bytes)
        switch try reader.byte("message type") {
        case UInt8(ascii: "w"):
            let start = LSN(try reader.uint64("WAL start"))
            let end = LSN(try reader.uint64("WAL end"))
            let sentAt = try reader.int64("send time")
            return .walData(start: start, end: end, sentAt: sentAt, payload: reader.rest())
        case UInt8(ascii: "k"):
            let end = LSN(try reader.uint64("WAL end"))
            let sentAt = try reader.int64("send time")
            let reply = try reader.byte("reply flag")
            guard reader.isAtEnd else { throw .invalid(field: "keepalive", reason: "has bytes after its end") }
            return .keepalive(end: end, sentAt: sentAt, replyRequested: reply == 1)
        case let other:
            throw .invalid(field: "message type", reason: "is \(other), neither w nor k")
        }
    }

    /// `r`: what the client has written, flushed and applied. The server may free WAL (and move
    /// the slot's confirmed position) up to `flushed`: pgseal says a position there only once
    /// everything before it is sealed and durable in the store.
    package static func statusUpdate(written: LSN, flushed: LSN, applied: LSN, at time: Int64, replyRequested: Bool = false) -> [UInt8] {
        var bytes: [UInt8] = [UInt8(ascii: "r")]
        for value in [written.value, flushed.value, applied.value, UInt64(bitPattern: time)] {
            for shift in stride(from: 56, through: 0, by: -8) { bytes.append(UInt8(truncatingIfNeeded: value >> UInt64(shift))) }
        }
        bytes.append(replyRequested ? 1 : 0)
        return bytes
    }

    /// Microseconds since PostgreSQL's epoch (2000-01-01 00:00 UTC), as the protocol counts time.
    package static func postgresTime(unixSeconds: Double) -> Int64 {
        Int64(((unixSeconds - 946_684_800) * 1_000_000).rounded())
    }
}
