import CLibPQ
import Foundation

extension PostgresConnection {
    /// A walsender connection of the logical kind (`replication=database`): it takes the
    /// replication commands (`IDENTIFY_SYSTEM`, `CREATE_REPLICATION_SLOT`, `START_REPLICATION`)
    /// besides SQL, in the database the connection string names.
    package convenience init(replicationConninfo conninfo: String) throws(PostgresError) {
        try self.init(conninfo: conninfo, overrides: ["replication": "database"])
    }

    /// Runs a replication command that answers with rows (`IDENTIFY_SYSTEM`,
    /// `CREATE_REPLICATION_SLOT`) or none (`DROP_REPLICATION_SLOT`). A walsender speaks only the
    /// simple query protocol.
    package func replicationCommand(_ command: String) throws(PostgresError) -> QueryResult {
        let result = PQexec(handle, command)
        defer { PQclear(result) }
        let status = PQresultStatus(result)
        guard status == PGRES_TUPLES_OK || status == PGRES_COMMAND_OK, let result else { throw error(from: result, statement: command) }
        return QueryResult(result)
    }

    /// Sends `command` (`START_REPLICATION SLOT … LOGICAL …`) and returns the stream it opens:
    /// the server's messages in, status updates out (COPY BOTH).
    package func startReplication(_ command: String) throws(PostgresError) -> ReplicationStream {
        let result = PQexec(handle, command)
        defer { PQclear(result) }
        guard PQresultStatus(result) == PGRES_COPY_BOTH else { throw error(from: result, statement: command) }
        return ReplicationStream(connection: self)
    }
}

/// The COPY BOTH stream of a replication connection. Reads wait at most a given time, so that
/// the caller can send its status updates on schedule whether or not the server speaks.
package final class ReplicationStream {
    private let connection: PostgresConnection
    private(set) package var ended = false

    init(connection: PostgresConnection) { self.connection = connection }

    package enum Next {
        /// One CopyData message from the server, valid only inside the callback.
        case message
        /// Nothing arrived within the time given.
        case timedOut
        /// The server ended the stream (its final result was good).
        case ended
    }

    /// Waits up to `timeout` for the next message and hands it to `body`.
    package func next(timeout: TimeInterval, _ body: (UnsafeRawBufferPointer) throws -> Void) throws -> Next {
        guard !ended else { return .ended }
        let handle = connection.handle
        let deadline = Date().addingTimeInterval(max(0, timeout))
        while true {
            var buffer: UnsafeMutablePointer<CChar>?
            let length = PQgetCopyData(handle, &buffer, 1)
            if length > 0, let buffer {
                defer { PQfreemem(buffer) }
                try body(UnsafeRawBufferPointer(start: buffer, count: Int(length)))
                return .message
            }
            if length == -1 {
                ended = true
                try connection.finishCopy(statement: "START_REPLICATION")
                return .ended
            }
            guard length == 0 else { throw connection.lostOrFailed() }
            // Nothing buffered: wait for the socket, then let libpq read what came.
            let remaining = deadline.timeIntervalSinceNow
            guard remaining > 0 else { return .timedOut }
            var descriptor = pollfd(fd: PQsocket(handle), events: Int16(POLLIN), revents: 0)
            let milliseconds = Int32(min(remaining * 1000, Double(Int32.max)).rounded(.up))
            let ready = poll(&descriptor, 1, milliseconds)
            if ready < 0, errno != EINTR { throw PostgresError.connectionLost(message: "waiting for the replication stream: \(String(cString: strerror(errno)))") }
            if ready > 0, PQconsumeInput(handle) == 0 { throw connection.lostOrFailed() }
        }
    }

    /// Sends one CopyData message (a standby status update) and flushes it.
    package func send(_ bytes: [UInt8]) throws(PostgresError) {
        let status = bytes.withUnsafeBytes { raw in
            raw.withMemoryRebound(to: CChar.self) { PQputCopyData(connection.handle, $0.baseAddress, Int32($0.count)) }
        }
        guard status == 1, PQflush(connection.handle) == 0 else { throw connection.lostOrFailed() }
    }
}
