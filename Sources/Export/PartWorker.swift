import ArchiveFormat
import DatabaseCatalog
import Display
import Foundation
import Logging
import ObjectStore
import Postgres

/// One part of a partitioned export: attaches to the coordinator's snapshot, reads its key
/// ranges of its tables — the profile's own selections, from this process's configuration, with
/// the range added to each filter — into an archive object of its own, and leaves the receipt
/// the coordinator seals from. Holds no signing key.
struct PartWorker {
    let settings: ExportSettings
    let logger: Logger
    let job: ExportJob

    func run(part index: Int) throws -> ExportResult {
        let started = Date()
        // From the scheduler's environment: any integer, so no arithmetic before this check.
        guard index >= 0, index < SealDocument.maxParts else { throw ExportError.partition("part index \(index) is not a part of any plan (0 to \(SealDocument.maxParts - 1))") }
        try ArchiveNames.checkProfile(settings.profile.name)
        guard let key = settings.partitionKey else {
            throw ExportError.partition("a worker proves its part to the coordinator with the export's partition key: give --partition-key-file (or PGSEAL_PARTITION_KEY), the key the coordinator has")
        }
        let store = try job.openDestination()
        let plan = try waitForPlan(in: store)
        // The coordinator drops parts that would hold nothing; their workers have nothing to do.
        guard plan.parts.indices.contains(index) else { throw ExportError.partNotNeeded(part: index + 1, of: plan.parts.count) }
        let part = plan.parts[index]
        let connection: PostgresConnection
        do {
            connection = try SnapshotSession.join(plan.source.snapshot, conninfo: settings.database, lockTimeout: settings.lockWaitTimeout)
        } catch {
            throw ExportError.partition("attaching to the coordinator's snapshot \(plan.source.snapshot) failed: \(error) — the coordinator must still be running (its transaction holds the snapshot)")
        }
        let plans = try rangedPlans(part, on: connection)
        guard let createdAt = StampFormat.date(plan.createdAt) else { throw ExportError.partition("the plan's created_at \(Terminal.escaped(plan.createdAt)) is not a time") }
        let naming = ObjectNaming(profile: settings.profile.name, time: createdAt)
        logger.info("part \(index + 1) of \(plan.parts.count): \(plans.count) table(s) into \(store.location(of: part.object))")
        let written = try job.writeArchive(store: store, coordinator: connection, source: plan.source, plans: plans, naming: naming,
                                           key: part.object, signed: false, started: started)
        do {
            let (size, digest) = try written.archive.finishUnsealed()
            let receipt = SealPart(
                object: written.archive.basename, size: size, sha256: digest.hex, manifestSHA256: written.manifestDigest.hex,
                tablesSHA256: written.tablesSHA256,
                tables: zip(part.tables, written.sealTables).map { SealPart.Table(name: $1.name, rows: $1.rows, digest: $1.digest, range: $0.range) })
            let tagged = try PartReceipt.tagged(receipt, part: index, of: plan, key: key)
            try store.put(key: part.object + PartReceipt.suffix, contents: try DocumentJSON.encoded(tagged))
            return written.result(store: store, naming: naming, source: plan.source, settings: settings, size: size, sha256: digest.hex,
                                  seconds: Date().timeIntervalSince(started))
        } catch {
            written.archive.abort()
            throw error
        }
    }

    /// The plan, once the coordinator has written it.
    private func waitForPlan(in store: ObjectStore) throws -> PartitionPlan {
        let key = PartitionPlan.key(profile: settings.profile.name)
        let deadline = Date().addingTimeInterval(settings.planWait)
        while true {
            if try store.presence(of: key) {
                return try PartitionPlan.decode(try store.readSmall(key: key, limit: PartitionPlan.sizeLimit), profile: settings.profile.name)
            }
            guard Date() < deadline else {
                throw ExportError.partition("no partition plan at \(store.location(of: key)) after \(Int(settings.planWait)) s: start the coordinator (pgseal export --partitions N)")
            }
            Thread.sleep(forTimeInterval: 1)
        }
    }

    /// The part's tables in the plan's order, each the profile's selection with the part's
    /// key range added to its filter. A table the profile does not select is refused.
    private func rangedPlans(_ part: PartitionPlan.Part, on connection: PostgresConnection) throws -> [TablePlan] {
        try part.tables.map { assigned in
            guard let selection = settings.profile.tables.first(where: { "\($0.schemaName).\($0.tableName)" == assigned.name }) else {
                throw ExportError.partition("the plan assigns table \(Terminal.escaped(assigned.name)), which profile \(settings.profile.name) does not export")
            }
            let whole = try job.resolvePlans(on: connection, selections: [selection])[0]
            guard !assigned.range.isWhole else { return whole }
            guard assigned.range.column == whole.keyColumns.first else {
                throw ExportError.partition("the plan splits \(whole.qualifiedName) on \(Terminal.escaped(assigned.range.column ?? "nothing")), not its first key column")
            }
            guard let predicate = try KeyRanges.predicate(assigned.range, of: whole) else { return whole }
            var ranged = selection
            ranged.filter = selection.filter.map { "(\($0)) AND \(predicate)" } ?? predicate
            return try job.resolvePlans(on: connection, selections: [ranged])[0]
        }
    }
}
