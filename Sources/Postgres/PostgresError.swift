/// What went wrong talking to PostgreSQL, with the server's own words kept.
public enum PostgresError: Error, CustomStringConvertible, Sendable {
    /// The connection could not be made: unreachable host, refused, bad credentials.
    case connectionFailed(target: String, message: String)
    /// A statement failed; `sqlState` is the five-character SQLSTATE code.
    case statementFailed(sqlState: String, message: String, detail: String?, hint: String?, statement: String)
    /// The server went away or the connection broke in the middle of work.
    case connectionLost(message: String)

    public var description: String {
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
            return text
        case .connectionLost(let message):
            return "lost the connection to PostgreSQL: \(message) — the server may have been restarted "
                + "or the session terminated; run the command again"
        }
    }

    /// The SQLSTATE, where the server sent one.
    public var sqlState: String? {
        if case .statementFailed(let state, _, _, _, _) = self { return state }
        return nil
    }

    /// True for `permission denied` (SQLSTATE 42501).
    public var isPermissionDenied: Bool { sqlState == "42501" }
}
