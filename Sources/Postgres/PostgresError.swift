/// What went wrong talking to PostgreSQL, with the server's own words kept.
package enum PostgresError: Error, CustomStringConvertible, Sendable {
    /// The connection could not be made: unreachable host, refused, bad credentials.
    case connectionFailed(target: String, message: String)
    /// A statement failed; `sqlState` is the five-character SQLSTATE code.
    case statementFailed(sqlState: String, message: String, detail: String?, hint: String?, statement: String)
    /// The server went away or the connection broke in the middle of work.
    case connectionLost(message: String)

    package var description: String {
        switch self {
        case .connectionFailed(let target, let message):
            var text = "could not connect to PostgreSQL (\(target)): \(message)"
            if message.contains("password authentication failed") || message.contains("no password supplied") {
                text += " — check the user and password (URL, PGPASSWORD or ~/.pgpass)"
            } else if message.contains("Connection refused") || message.contains("could not translate host name") {
                text += " — check that the server is running and that host and port are right"
            }
            return text
        case .statementFailed(let sqlState, let message, let detail, let hint, _):
            var text = "PostgreSQL error \(sqlState): \(message)"
            if let detail, !detail.isEmpty { text += " (\(detail))" }
            if let hint, !hint.isEmpty { text += " — hint: \(hint)" }
            if isRecoveryConflict {
                text += " — a hot standby cancels a query that would keep rows its replay must remove, after max_standby_streaming_delay "
                    + "(default 30 s). Export from the primary; or, on the standby, set hot_standby_feedback = on (the primary then keeps "
                    + "dead rows for as long as the export runs: table bloat there) or max_standby_streaming_delay = -1 (replay waits "
                    + "for the export: the standby lags behind), and run the export again (docs/OPERATIONS.md, \"Running against production\")"
            }
            return text
        case .connectionLost(let message):
            return "lost the connection to PostgreSQL: \(message) — the server may have been restarted "
                + "or the session terminated; run the command again"
        }
    }

    /// The server could not be reached or went away (as opposed to a statement it refused).
    package var isConnectionProblem: Bool {
        switch self {
        case .connectionFailed, .connectionLost: true
        case .statementFailed(let state, _, _, _, _): state.hasPrefix("08") || state == "57P01" || state == "57P02" || state == "57P03"
        }
    }

    /// The SQLSTATE, where the server sent one.
    package var sqlState: String? {
        if case .statementFailed(let state, _, _, _, _) = self { return state }
        return nil
    }

    /// A hot standby cancelled the statement to replay the primary's changes (SQLSTATE 40001
    /// with "conflict with recovery").
    package var isRecoveryConflict: Bool {
        guard case .statementFailed(let state, let message, _, _, _) = self else { return false }
        return state == "40001" && message.contains("conflict with recovery")
    }

    /// True for `permission denied` (SQLSTATE 42501).
    package var isPermissionDenied: Bool { sqlState == "42501" }
}
