import ArchiveFormat
import ArchiveReading
import ByteStreams
import ChangeCapture
import Cryptography
import DatabaseCatalog
import Export
import Foundation
import Logging
import ObjectStore
import Postgres

/// The follower (docs/OPERATIONS.md, "Following"): reads the profile's changes from a logical
/// replication slot and seals them into change segments, each bound to a base export taken in
/// the slot's own snapshot. The slot's confirmed position moves only past sealed segments, so
/// that a follower killed at any moment resumes from the slot and loses nothing; a segment
/// sealed but not yet confirmed is recognised by its WAL range and never written twice.
package final class Follower {
    private let settings: FollowSettings
    private let logger: Logger
    private let stop: StopRequest
    private let cleanup: CleanupRegistry?
    private let metrics: FollowMetrics

    package init(settings: FollowSettings, logger: Logger, stop: StopRequest, cleanup: CleanupRegistry? = nil, metrics: FollowMetrics = FollowMetrics()) {
        self.settings = settings
        self.logger = logger
        self.stop = stop
        self.cleanup = cleanup
        self.metrics = metrics
    }

    /// Where a chain stands when streaming starts.
    struct ChainPosition {
        var base: SealChain.Link
        var previous: SealChain.Link?
        var sealedUpTo: LSN
        var sequence: Int
    }

    package func run() throws -> FollowResult {
        let export = settings.export
        let profile = export.profile.name
        try ArchiveNames.checkProfile(profile)
        for (label, name) in [("--slot", settings.slot), ("--publication", settings.publication)] where !FollowSettings.isValidSlotName(name) {
            throw ConfigurationError("\(label) \(name.debugDescription): use lower-case letters, digits and '_', at most 63 (PostgreSQL's rule for slot names)")
        }
        guard let signingKey = export.signingKey else {
            throw ConfigurationError("following needs a signing key (--sign-key): the follower resumes from its own sealed segments, and believes only those its key signed")
        }
        let signers = AllowedSigners.only(signingKey.publicKey, origin: "the follower's signing key")
        let store = try openStore(export.destination, settings: export.storeSettings, create: true, cleanup: cleanup)
        var result = FollowResult(profile: profile, slot: settings.slot, sealedLSN: "")
        metrics.start(profile: profile, slot: settings.slot)
        // What a killed follower left: an incomplete upload, a hidden partial file.
        let stale = try store.removeStaleUploads(under: SegmentNaming.prefix(profile: profile), olderThan: export.staleUploadAge)
        if stale > 0 { logger.notice("removed \(stale) incomplete segment upload(s) of earlier runs") }
        var forceNewBase = settings.newBase
        var changedInARow = 0
        var reconnectDelay: TimeInterval = 1
        while true {
            let sealedBefore = result.segments.count
            do {
                let connection = try PostgresConnection(conninfo: export.database)
                let plans = try preparePublication(on: connection)
                let tip = try SegmentSeries.newest(in: store, profile: profile, signers: signers)
                let slot = try SlotHealth.read(connection, slot: settings.slot)
                let (start, replication) = try startChain(tip: tip, slot: slot, forceNewBase: forceNewBase, connection: connection,
                                                          store: store, plans: plans, result: &result)
                forceNewBase = false
                let session = try FollowSession(settings: settings, logger: logger, stop: stop, store: store, connection: connection,
                                                replication: replication, plans: plans, position: start, metrics: metrics)
                reconnectDelay = 1
                try session.run(into: &result)
                return result
            } catch let error as FollowError {
                if result.segments.count > sealedBefore + 1 { changedInARow = 0 }
                guard case .definitionChanged = error, changedInARow < 3 else { throw error }
                // The tables' definitions moved under the slot: what is sealed stays; a new
                // base in the new definitions starts a new chain from here.
                changedInARow += 1
                logger.notice("\(error): sealing what came before and starting a new chain with a new base")
                result.breaks.append("\(error)")
                metrics.broke()
                forceNewBase = true
            } catch let error as PostgresError where !settings.untilCaughtUp && error.isConnectionProblem && !stop.isRequested {
                // A service outlives a server's restart or a network's hiccup: what was not
                // sealed is not confirmed, and the slot sends it again.
                logger.warning("\(error); connecting again in \(Int(reconnectDelay)) s")
                let until = Date().addingTimeInterval(reconnectDelay)
                while Date() < until, !stop.isRequested { Thread.sleep(forTimeInterval: 0.2) }
                if stop.isRequested { return result }
                reconnectDelay = min(reconnectDelay * 2, 60)
            }
        }
    }

    /// The profile's tables, and the publication of them (made, or set to them, when needed).
    private func preparePublication(on connection: PostgresConnection) throws -> [TablePlan] {
        let tables = settings.export.profile.tables
        let plans = try tables.map { try TablePlan.resolve($0, on: connection) }
        for plan in plans { try ArchiveNames.checkTable(schema: plan.schema, name: plan.name) }
        try ArchiveNames.checkDistinct(plans.map(\.qualifiedName))
        // Said before anything is made: a filter is decided on the old and the new row.
        for plan in plans where plan.filter != nil {
            let identity = try connection.execute(
                "SELECT c.relreplident::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1 AND c.relname = $2",
                [plan.schema, plan.name]).scalar
            guard identity == "f" else { throw FollowError.filterNeedsFullIdentity(table: plan.qualifiedName) }
        }
        let published = try connection.execute("SELECT schemaname || '.' || tablename FROM pg_publication_tables WHERE pubname = $1 ORDER BY 1",
                                                [settings.publication]).rows.compactMap { $0.first ?? nil }
        let exists = try connection.execute("SELECT 1 FROM pg_publication WHERE pubname = $1", [settings.publication]).scalar != nil
        let wanted = plans.map(\.qualifiedName).sorted()
        if !exists || published != wanted {
            let list = plans.map { SQL.table(schema: $0.schema, name: $0.name) }.joined(separator: ", ")
            let statement = exists ? "ALTER PUBLICATION \(SQL.identifier(settings.publication)) SET TABLE \(list)"
                : "CREATE PUBLICATION \(SQL.identifier(settings.publication)) FOR TABLE \(list)"
            do { try connection.run(script: statement) } catch {
                throw ConfigurationError("could not \(exists ? "update" : "create") the publication \(settings.publication) (\(error)): a publication is made by the tables' owner; run, as the owner: \(statement)")
            }
            logger.notice("\(exists ? "updated" : "created") publication \(settings.publication) of \(wanted.joined(separator: ", "))")
        }
        return plans
    }

    /// Continues the chain the store's newest segment ends, or starts a new one: a new slot,
    /// the base export in its snapshot, and the chain's first segment, empty, which binds the
    /// slot to the base (docs/FORMAT.md §11).
    private func startChain(tip: SegmentSeries.Tip?, slot: SlotHealth, forceNewBase: Bool, connection: PostgresConnection,
                            store: ObjectStore, plans: [TablePlan], result: inout FollowResult) throws -> (ChainPosition, PostgresConnection) {
        var slotPresent = false
        if case .present(let details) = slot.state {
            slotPresent = true
            guard details.plugin == "pgoutput" else {
                throw ConfigurationError("replication slot \(settings.slot) uses the plugin \(details.plugin), not pgoutput: it is not this follower's; give this one its own --slot")
            }
            if details.active { throw FollowError.slotInUse(slot: settings.slot, detail: "active") }
            if let tip, !forceNewBase, !details.isBroken, try definitionsUnchanged(since: tip, plans: plans, connection: connection, result: &result) {
                guard let sealed = LSN(tip.range.toLSN) else {
                    throw SealProblem(location: store.location(of: tip.key + ".seal"), problem: "its to_lsn is not a WAL position")
                }
                let replication = try PostgresConnection(replicationConninfo: settings.export.database)
                return (ChainPosition(base: tip.range.base, previous: tip.link, sealedUpTo: sealed, sequence: tip.sequence), replication)
            }
            if details.isBroken {
                metrics.broke()
                result.breaks.append("replication slot \(settings.slot) was lost (wal_status = lost: PostgreSQL removed WAL it needed; raise max_slot_wal_keep_size): a new base starts a new chain")
            }
        } else if tip != nil, !forceNewBase {
            metrics.broke()
            result.breaks.append("replication slot \(settings.slot) is missing (dropped?) while the store holds segments: a new base starts a new chain")
        }
        for line in result.breaks { logger.error("\(line)") }
        if !forceNewBase {
            // Readiness is asked before a slot is made: the setting, the privilege, a free slot.
            var problems = try ReplicationReadiness.problems(connection, tables: settings.export.profile.tables)
            if slotPresent { problems.removeAll { $0.subject == "max_replication_slots" } }
            guard problems.isEmpty else { throw FollowError.notReady(problems.map(\.message)) }
        }
        if slotPresent { _ = try connection.execute("SELECT pg_drop_replication_slot($1)", [settings.slot]) }
        return try newChain(after: tip, connection: connection, store: store, plans: plans, result: &result)
    }

    /// Whether the tables are still defined as the chain's segments say (their `tables.json`,
    /// named by SHA-256 in every seal): a follower cannot decrypt its own segments, but it can
    /// tell that the catalog moved since — a new chain then, in the new definitions.
    private func definitionsUnchanged(since tip: SegmentSeries.Tip, plans: [TablePlan], connection: PostgresConnection,
                                      result: inout FollowResult) throws -> Bool {
        let current = SHA256Hasher.hash(try FollowSession.definitions(of: plans, on: connection).encoded()).hex
        guard current != tip.seal.tablesSHA256 else { return true }
        metrics.broke()
        result.breaks.append("the tables' definitions changed since the chain's last segment (a column added, dropped or retyped, or a type changed): a new base starts a new chain in the new definitions")
        return false
    }

    private func newChain(after tip: SegmentSeries.Tip?, connection: PostgresConnection, store: ObjectStore, plans: [TablePlan],
                          result: inout FollowResult) throws -> (ChainPosition, PostgresConnection) {
        let replication = try PostgresConnection(replicationConninfo: settings.export.database)
        let made = try replication.replicationCommand("CREATE_REPLICATION_SLOT \(settings.slot) LOGICAL pgoutput (SNAPSHOT 'export')")
        guard let row = made.rows.first, row.count >= 3, let consistent = row[1].flatMap({ LSN($0) }), let snapshot = row[2] else {
            throw FollowError.stream("CREATE_REPLICATION_SLOT answered without a consistent point and snapshot")
        }
        logger.notice("created replication slot \(settings.slot) at \(consistent); taking the base export in its snapshot \(snapshot)")
        do {
            var exportSettings = settings.export
            exportSettings.baseSnapshot = BaseSnapshot(snapshot: snapshot, walLSN: consistent.description)
            let exported = try ExportJob(settings: exportSettings, logger: logger, progress: SilentProgress(), cleanup: cleanup).run()
            result.newBase = exported.archive
            let base = try SegmentSeries.link(toArchive: exported.key, in: store)
            var position = ChainPosition(base: base, previous: tip?.link, sealedUpTo: consistent, sequence: tip?.sequence ?? 0)
            let definitions = try FollowSession.definitions(of: plans, on: connection)
            let anchor = try SegmentWriter(store: store, settings: settings, definitions: definitions, fromLSN: consistent, sequence: position.sequence + 1)
            let sealed = try anchor.seal(toLSN: consistent, base: base, previous: position.previous, settings: settings)
            position.previous = sealed.link
            position.sequence += 1
            result.segments.append(FollowResult.Segment(key: sealed.key, fromLSN: consistent.description, toLSN: consistent.description, transactions: 0, changes: 0))
            return (position, replication)
        } catch {
            // A slot without its base would hold WAL for nothing: it goes, and the next run starts again.
            _ = try? connection.execute("SELECT pg_drop_replication_slot($1)", [settings.slot])
            throw error
        }
    }
}
