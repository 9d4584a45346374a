import DatabaseCatalog
import Foundation
import Prometheus

/// What a running follower publishes for Prometheus: how current its sealed chain is (the
/// recovery point), what it sealed, and its slot as the server sees it — the WAL the slot holds
/// back, `wal_status`, and how much more it may hold before PostgreSQL drops it
/// (`max_slot_wal_keep_size`). Written by the session's thread; published to a file for node_exporter.
public final class FollowMetrics: @unchecked Sendable {
    private let lock = NSLock()
    private var profile = ""
    private var slot = ""
    private var lastSeal: Date?
    private var lastCommit: String?
    private var segments = 0
    private var changes = 0
    private var breaks = 0
    private var health: SlotHealth?
    private let file: String?

    /// With `file`, the exposition is written there (atomically) on every change and every
    /// status interval, for node_exporter's textfile collector.
    public init(file: String? = nil) {
        self.file = file
    }

    /// Writes the exposition to the file, if one was given; a failed write is said once a
    /// minute at most by the caller's log, never a reason to stop following.
    func publish() throws {
        guard let file else { return }
        try Data(exposition().utf8).write(to: URL(fileURLWithPath: file), options: .atomic)
    }

    func start(profile: String, slot: String) {
        lock.withLock {
            self.profile = profile
            self.slot = slot
        }
    }

    func sealed(changes count: Int, lastCommit commit: String?, at time: Date = Date()) {
        lock.withLock {
            lastSeal = time
            segments += 1
            changes += count
            if let commit { lastCommit = commit }
        }
    }

    func broke() { lock.withLock { breaks += 1 } }

    func observe(_ slotHealth: SlotHealth) { lock.withLock { health = slotHealth } }

    /// The Prometheus text exposition, names and label values escaped by swift-prometheus.
    public func exposition(now: Date = Date()) -> String {
        lock.withLock {
            let registry = PrometheusCollectorRegistry()
            let labels = [("profile", profile), ("slot", slot)]
            func gauge(_ name: String, _ help: String, _ value: Double?) {
                guard let value else { return }
                registry.makeGauge(name: name, labels: labels, help: help).set(to: value)
            }
            gauge("pgseal_follow_lag_seconds", "Seconds since the follower last sealed a segment: the recovery point while it runs.",
                  lastSeal.map { now.timeIntervalSince($0).rounded(.down) })
            gauge("pgseal_follow_last_seal_timestamp_seconds", "When the follower last sealed a segment (Unix seconds).",
                  lastSeal.map { $0.timeIntervalSince1970.rounded(.down) })
            gauge("pgseal_follow_last_commit_timestamp_seconds", "The newest commit sealed by this follower (Unix seconds).",
                  lastCommit.flatMap(Self.commitDate).map { $0.timeIntervalSince1970.rounded(.down) })
            gauge("pgseal_follow_segments_sealed", "Segments sealed since the follower started.", Double(segments))
            gauge("pgseal_follow_changes_sealed", "Change lines sealed since the follower started.", Double(changes))
            gauge("pgseal_follow_breaks", "Breaks (a lost slot, changed definitions) healed by new bases since the follower started.", Double(breaks))
            if let health {
                if case .present(let details) = health.state {
                    gauge("pgseal_slot_present", "1 when the follower's replication slot exists.", 1)
                    gauge("pgseal_slot_retained_wal_bytes", "WAL the server keeps for the slot.", Double(details.retainedBytes))
                    gauge("pgseal_slot_safe_wal_bytes", "WAL the slot may still hold back before the server drops it (max_slot_wal_keep_size).",
                          details.safeWALBytes.map(Double.init))
                    for status in ["reserved", "extended", "unreserved", "lost"] {
                        registry.makeGauge(name: "pgseal_slot_wal_status", labels: labels + [("status", status)],
                                           help: "1 for the slot's wal_status (lost: the chain broke; a new base heals it).")
                            .set(to: details.walStatus == status ? 1 : 0)
                    }
                } else {
                    gauge("pgseal_slot_present", "1 when the follower's replication slot exists.", 0)
                }
            }
            return registry.emitToString()
        }
    }

    private static func commitDate(_ text: String) -> Date? {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return formatter.date(from: text)
    }
}
