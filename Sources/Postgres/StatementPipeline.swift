import CLibPQ

/// Statements sent in libpq's pipeline mode: each is queued without waiting for its answer,
/// and the answers are read in order when a batch is synced — for many small statements in one
/// transaction (a replay of change lines), where the round trip, not the statement, is the
/// cost. Each statement comes with a check of its result, run when the result arrives; the
/// first statement that fails or whose check throws ends the pipeline (what was queued after
/// it is aborted by the server) and its error is thrown. A batch's answers are small, so
/// neither side's socket buffer fills while the other waits.
package final class StatementPipeline {
    package typealias Check = (QueryResult) throws -> Void

    private let connection: PostgresConnection
    private let batch: Int
    private var queued: [(sql: String, check: Check)] = []
    private var open = true

    package init(_ connection: PostgresConnection, batch: Int = 256) throws(PostgresError) {
        guard PQenterPipelineMode(connection.handle) == 1 else {
            throw connection.error(from: nil, statement: "(entering pipeline mode)")
        }
        self.connection = connection
        self.batch = max(1, batch)
    }

    deinit { if open { leave() } }

    /// Queues one statement (never a second one in `sql`: the extended protocol refuses it).
    package func send(_ sql: String, _ parameters: [String?] = [], check: @escaping Check = { _ in }) throws {
        let sent = parameters.withOptionalCStringArray { values in
            PQsendQueryParams(connection.handle, sql, Int32(parameters.count), nil, values, nil, nil, 0)
        }
        guard sent == 1 else {
            let error = connection.error(from: nil, statement: sql)
            leave()
            throw error
        }
        queued.append((sql, check))
        if queued.count >= batch { try sync() }
    }

    /// Reads the answers of everything queued, checking each in order.
    package func sync() throws {
        guard !queued.isEmpty else { return }
        guard PQpipelineSync(connection.handle) == 1 else {
            let error = connection.error(from: nil, statement: "(pipeline sync)")
            leave()
            throw error
        }
        let statements = queued
        queued.removeAll(keepingCapacity: true)
        var failure: Error?
        for (sql, check) in statements {
            // Each statement's result, then a null that ends it; after a failure, "aborted".
            guard let result = PQgetResult(connection.handle) else { break }
            let status = PQresultStatus(result)
            if failure == nil {
                if status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK {
                    do { try check(QueryResult(result)) } catch { failure = error }
                } else {
                    failure = connection.error(from: result, statement: sql)
                }
            }
            PQclear(result)
            while let extra = PQgetResult(connection.handle) { PQclear(extra) }
        }
        readSync()
        if let failure {
            leave()
            throw failure
        }
    }

    /// Syncs what is queued and leaves pipeline mode: the connection is an ordinary one again.
    package func finish() throws {
        try sync()
        leave()
    }

    private func leave() {
        guard open else { return }
        open = false
        // Answers still owed (a failure while queueing) are read and dropped before leaving.
        if !queued.isEmpty, PQpipelineSync(connection.handle) == 1 {
            for _ in queued {
                guard let result = PQgetResult(connection.handle) else { break }
                PQclear(result)
                while let extra = PQgetResult(connection.handle) { PQclear(extra) }
            }
            readSync()
        }
        queued.removeAll()
        _ = PQexitPipelineMode(connection.handle)
    }

    /// Reads up to the sync's own result, which closes a batch; a few stray results at most.
    private func readSync() {
        for _ in 0..<4 {
            guard let result = PQgetResult(connection.handle) else { continue }
            let status = PQresultStatus(result)
            PQclear(result)
            if status == PGRES_PIPELINE_SYNC { return }
        }
    }
}
