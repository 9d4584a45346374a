import Foundation

import CLibPQ

/// One libpq connection. The handle is owned here and closed in `deinit`; nothing of libpq's
/// types leaves this module.
package final class PostgresConnection {
    let handle: OpaquePointer

    /// Settings pinned on every session so that output never depends on server or client
    /// defaults (docs/FORMAT.md, "Session settings").
    package static let pinnedSettings: [(String, String)] = [
        ("TimeZone", "UTC"), ("DateStyle", "ISO"), ("IntervalStyle", "iso_8601"),
        ("extra_float_digits", "3"), ("bytea_output", "hex"), ("client_encoding", "UTF8"),
        // money's text depends on lc_monetary, xml's input on xmloption: both pinned, so that
        // a value reads back as it was written on any server.
        ("lc_monetary", "C"), ("xmloption", "content"),
        ("application_name", "pgseal"),
    ]

    /// How a connection notices that the network went away: TCP keepalives after 30 s idle, every
    /// 10 s, 3 unanswered ones end it; data unacknowledged for 60 s ends it (`tcp_user_timeout`);
    /// connecting gives up after 30 s. A database URL that sets any of these wins.
    static let networkDefaults: [(String, String)] = [
        ("connect_timeout", "30"), ("keepalives", "1"), ("keepalives_idle", "30"), ("keepalives_interval", "10"),
        ("keepalives_count", "3"), ("tcp_user_timeout", "60000"),
    ]

    /// Connects with a libpq connection string or URL; empty means "from the PG* environment",
    /// and `.pgpass` and service files apply as they do for psql.
    package convenience init(conninfo: String) throws(PostgresError) {
        try self.init(conninfo: conninfo, overrides: [:])
    }

    /// `overrides` come after the expanded connection string, so they win over it.
    init(conninfo: String, overrides: [String: String]) throws(PostgresError) {
        // Defaults come before the connection string, which may set them otherwise; overrides after.
        let defaults = Self.networkDefaults
        let keywords = defaults.map(\.0) + ["dbname", "fallback_application_name"] + overrides.keys.sorted()
        let values = defaults.map(\.1) + [conninfo, "pgseal"] + overrides.keys.sorted().map { overrides[$0] ?? "" }
        let connection = keywords.withCStringArray { keywordPointers in
            values.withCStringArray { valuePointers in
                PQconnectdbParams(keywordPointers, valuePointers, 1)
            }
        }
        guard let connection else {
            throw .connectionFailed(target: Self.describeTarget(conninfo), message: "out of memory")
        }
        guard PQstatus(connection) == CONNECTION_OK else {
            let message = Self.trimmed(PQerrorMessage(connection))
            PQfinish(connection)
            throw .connectionFailed(target: Self.describeTarget(conninfo), message: message)
        }
        self.handle = connection
        // Server notices ("schema already exists, skipping") are not for the user's terminal.
        PQsetNoticeProcessor(connection, { _, _ in }, nil)
        let settings = Self.pinnedSettings.map { "SET \($0.0) = '\($0.1)'" }.joined(separator: "; ")
        try run(script: settings)
    }

    deinit { PQfinish(handle) }

    /// Where this connection goes, without any password: for messages.
    package var target: String {
        let host = String(cString: PQhost(handle))
        let port = String(cString: PQport(handle))
        let database = String(cString: PQdb(handle))
        let user = String(cString: PQuser(handle))
        return "\(user)@\(host.hasPrefix("/") ? "socket " + host : host):\(port)/\(database)"
    }

    package var databaseName: String { String(cString: PQdb(handle)) }
    package var serverVersion: Int { Int(PQserverVersion(handle)) }
    package var backendPID: Int32 { PQbackendPID(handle) }

    /// Runs one statement with text parameters. The extended protocol used here refuses a
    /// second statement, so text from a profile (a filter) cannot smuggle one in.
    @discardableResult
    package func execute(_ sql: String, _ parameters: [String?] = []) throws(PostgresError) -> QueryResult {
        let result = parameters.withOptionalCStringArray { values in
            PQexecParams(handle, sql, Int32(parameters.count), nil, values, nil, nil, 0)
        }
        defer { PQclear(result) }
        let status = PQresultStatus(result)
        guard status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK else {
            throw error(from: result, statement: sql)
        }
        return QueryResult(result!)
    }

    /// Runs a script of several statements of pgseal's own (never text from a profile).
    package func run(script: String) throws(PostgresError) {
        let result = PQexec(handle, script)
        defer { PQclear(result) }
        let status = PQresultStatus(result)
        guard status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK else { throw error(from: result, statement: script) }
    }

    /// Starts `COPY … TO STDOUT` and returns a reader of its rows.
    package func copyOut(_ sql: String) throws(PostgresError) -> CopyOutReader {
        let result = PQexecParams(handle, sql, 0, nil, nil, nil, nil, 0)
        defer { PQclear(result) }
        guard PQresultStatus(result) == PGRES_COPY_OUT else { throw error(from: result, statement: sql) }
        return CopyOutReader(connection: self)
    }

    // MARK: - For the COPY readers and writers in this module

    func startCopyIn(_ sql: String) throws(PostgresError) {
        let result = PQexecParams(handle, sql, 0, nil, nil, nil, nil, 0)
        defer { PQclear(result) }
        guard PQresultStatus(result) == PGRES_COPY_IN else { throw error(from: result, statement: sql) }
    }

    func putCopyData(_ bytes: UnsafeRawBufferPointer) throws(PostgresError) {
        guard !bytes.isEmpty else { return }
        let status = bytes.withMemoryRebound(to: CChar.self) { PQputCopyData(handle, $0.baseAddress, Int32(bytes.count)) }
        guard status == 1 else { throw lostOrFailed() }
    }

    func endCopy() throws(PostgresError) {
        guard PQputCopyEnd(handle, nil) == 1 else { throw lostOrFailed() }
        let result = PQgetResult(handle)
        defer { PQclear(result); drainResults() }
        guard PQresultStatus(result) == PGRES_COMMAND_OK else { throw error(from: result, statement: "COPY FROM STDIN") }
    }

    func nextCopyRow(_ body: (UnsafeRawBufferPointer) throws -> Void) throws -> Bool {
        var buffer: UnsafeMutablePointer<CChar>?
        let length = PQgetCopyData(handle, &buffer, 0)
        if length > 0, let buffer {
            defer { PQfreemem(buffer) }
            try body(UnsafeRawBufferPointer(start: buffer, count: Int(length)))
            return true
        }
        if length == -1 {
            // The COPY is over; its final result says whether it succeeded.
            let result = PQgetResult(handle)
            defer { PQclear(result); drainResults() }
            guard PQresultStatus(result) == PGRES_COMMAND_OK else { throw error(from: result, statement: "COPY") }
            return false
        }
        throw lostOrFailed()
    }

    /// The final result of a COPY the server ended: an error unless it succeeded.
    func finishCopy(statement: String) throws(PostgresError) {
        let result = PQgetResult(handle)
        defer { PQclear(result); drainResults() }
        let status = PQresultStatus(result)
        guard status == PGRES_COMMAND_OK || status == PGRES_COPY_OUT else { throw error(from: result, statement: statement) }
    }

    private func drainResults() {
        while let extra = PQgetResult(handle) { PQclear(extra) }
    }

    func lostOrFailed() -> PostgresError {
        let message = Self.trimmed(PQerrorMessage(handle))
        if PQstatus(handle) != CONNECTION_OK {
            return .connectionLost(message: message)
        }
        if let result = PQgetResult(handle) {
            defer { PQclear(result); drainResults() }
            return error(from: result, statement: "COPY")
        }
        return .connectionLost(message: message)
    }

    func error(from result: OpaquePointer?, statement: String) -> PostgresError {
        if PQstatus(handle) != CONNECTION_OK {
            return .connectionLost(message: Self.trimmed(PQerrorMessage(handle)))
        }
        func field(_ code: Int32) -> String? {
            guard let result, let value = PQresultErrorField(result, code) else { return nil }
            return String(cString: value)
        }
        let sqlState = field(Int32(UInt8(ascii: "C"))) ?? "XX000"
        let message = field(Int32(UInt8(ascii: "M"))) ?? Self.trimmed(PQerrorMessage(handle))
        if sqlState.hasPrefix("57P") || sqlState.hasPrefix("08") {
            return .connectionLost(message: message)
        }
        return .statementFailed(
            sqlState: sqlState, message: message,
            detail: field(Int32(UInt8(ascii: "D"))), hint: field(Int32(UInt8(ascii: "H"))),
            statement: statement)
    }

    static func trimmed(_ message: UnsafePointer<CChar>?) -> String {
        guard let message else { return "unknown error" }
        return String(cString: message).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// A connection string without its password, for messages: parsed by libpq itself (URLs
    /// with `user:pass@` or `?password=`, keyword/value strings with quoted values, repeated
    /// or upper-case keywords alike), then rebuilt from the parts that are safe to show.
    package static func describeTarget(_ conninfo: String) -> String {
        if conninfo.isEmpty { return "from PG* environment variables" }
        var error: UnsafeMutablePointer<CChar>?
        guard let options = PQconninfoParse(conninfo, &error) else {
            if let error { PQfreemem(error) }
            return "(a connection string libpq cannot parse)"
        }
        defer { PQconninfoFree(options) }
        var parts: [String] = []
        var option = options
        while let keyword = option.pointee.keyword {
            let name = String(cString: keyword)
            if ["host", "hostaddr", "port", "dbname", "user", "service"].contains(name), let value = option.pointee.val {
                parts.append("\(name)=\(String(cString: value))")
            }
            option += 1
        }
        return parts.isEmpty ? "(defaults)" : parts.joined(separator: " ")
    }
}

/// Reads the rows of one `COPY … TO STDOUT`; each row is lent to the caller's closure and
/// freed right after, so memory stays at one row.
package struct CopyOutReader {
    let connection: PostgresConnection

    /// Calls `body` with the next row (COPY text format, newline included) and returns true,
    /// or returns false when the COPY has completed successfully.
    package func next(_ body: (UnsafeRawBufferPointer) throws -> Void) throws -> Bool {
        try connection.nextCopyRow(body)
    }
}

extension PostgresConnection {
    /// A handle that cancels this connection's running statement from another thread — the
    /// one safe way to stop a COPY that a worker thread is blocked reading.
    package func makeCanceller() -> QueryCanceller? {
        PQgetCancel(handle).map(QueryCanceller.init)
    }
}

/// Owns a libpq cancel object; `cancel()` may be called from any thread.
package final class QueryCanceller: @unchecked Sendable {
    private let handle: OpaquePointer

    init(_ handle: OpaquePointer) { self.handle = handle }

    deinit { PQfreeCancel(handle) }

    package func cancel() {
        var message = [CChar](repeating: 0, count: 256)
        _ = PQcancel(handle, &message, Int32(message.count))
    }

    /// Sends the cancel request but waits at most `timeout` for it: PQcancel opens a connection
    /// of its own and waits for the server, which a partitioned network never answers.
    package func cancel(waitingAtMost timeout: TimeInterval) {
        let done = DispatchSemaphore(value: 0)
        let thread = Thread { [self] in
            cancel()
            done.signal()
        }
        thread.start()
        _ = done.wait(timeout: .now() + timeout)
    }
}

extension PostgresConnection {
    /// Connects like `init(conninfo:)` but to another database of the same server.
    package convenience init(conninfo: String, database: String) throws(PostgresError) {
        try self.init(conninfo: conninfo, overrides: ["dbname": database])
    }

    /// Starts `COPY … FROM STDIN` and returns its writer.
    package func copyIn(_ sql: String) throws(PostgresError) -> CopyInWriter {
        try startCopyIn(sql)
        return CopyInWriter(connection: self)
    }
}

/// Feeds one `COPY … FROM STDIN`. `finish` ends it and reports the server's verdict.
package struct CopyInWriter {
    let connection: PostgresConnection

    package func write(_ bytes: UnsafeRawBufferPointer) throws(PostgresError) {
        try connection.putCopyData(bytes)
    }

    package func finish() throws(PostgresError) {
        try connection.endCopy()
    }
}
