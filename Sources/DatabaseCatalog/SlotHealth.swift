import Postgres

/// A replication slot as the server sees it, for the follower's start and the monitor: whether
/// it exists, whether PostgreSQL still keeps the WAL it needs (`wal_status`; `lost` means the
/// slot was invalidated past `max_slot_wal_keep_size` — a break in the chain, healed only by a
/// new base), how much WAL it holds back, and how much more it may before it is lost.
package struct SlotHealth: Equatable, Sendable {
    package enum State: Equatable, Sendable {
        /// No slot of that name: dropped, or never made. A follower finding this where it
        /// expected its slot has a gap it cannot see into.
        case missing
        case present(Details)
    }

    package struct Details: Equatable, Sendable {
        package let plugin: String
        package let database: String
        package let active: Bool
        /// `reserved`, `extended`, `unreserved` or `lost` (PostgreSQL 13 and later).
        package let walStatus: String
        /// Bytes of WAL the server keeps for the slot (the insert position − its restart position;
        /// the write position lags behind it under `synchronous_commit = off`).
        package let retainedBytes: Int64
        /// Bytes more it may keep before the slot is lost; nil when no limit is set.
        package let safeWALBytes: Int64?
        package let confirmedFlush: String?

        /// Lost or about to be: WAL the slot needs is, or may soon be, removed.
        package var isBroken: Bool { walStatus == "lost" }
    }

    package let slot: String
    package let state: State

    /// Reads the slot named `slot` (bound as a parameter: a name from a config file is never SQL).
    package static func read(_ connection: PostgresConnection, slot: String) throws(PostgresError) -> SlotHealth {
        let result = try connection.execute("""
            SELECT plugin, database, active::text, wal_status,
                   pg_wal_lsn_diff(CASE WHEN pg_is_in_recovery() THEN pg_last_wal_replay_lsn() ELSE pg_current_wal_insert_lsn() END, restart_lsn)::bigint,
                   safe_wal_size, confirmed_flush_lsn::text
            FROM pg_replication_slots WHERE slot_name = $1
            """, [slot])
        guard let row = result.rows.first, row.count == 7 else { return SlotHealth(slot: slot, state: .missing) }
        return SlotHealth(slot: slot, state: .present(Details(
            plugin: row[0] ?? "", database: row[1] ?? "", active: row[2] == "true", walStatus: row[3] ?? "",
            retainedBytes: row[4].flatMap { Int64($0) } ?? 0, safeWALBytes: row[5].flatMap { Int64($0) }, confirmedFlush: row[6])))
    }
}
