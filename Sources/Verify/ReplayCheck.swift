import ArchiveFormat
import ArchiveReading
import ByteStreams
import Display
import ObjectStore
import Restore

/// The restore level to a point: after the base is restored and proven in the scratch database,
/// its change segments are replayed there up to the point (each through the seal gate, chained
/// as docs/FORMAT.md §11.3 says), and the tables are read back as they then stand. Held to a
/// later base taken at an exact position (§11.5), the tables must be that base's, digest for
/// digest: the proof that base and segments are continuous with what the database held.
struct ReplayCheck {
    /// A later base, whose signed seal states the digests the replay must reach.
    struct LaterBase {
        let location: String
        let seal: SealDocument
    }

    let replay: SegmentReplay
    let target: ReplayTarget
    let later: LaterBase?
    /// The chain up to the point, its seals already checked.
    let segments: [GatedArchive]
    let live: LiveComparison?

    /// Finds the point and the chain before anything is restored: an argument that cannot be
    /// used fails in a second (thrown, exit 2); a chain or later base that fails its seal or
    /// breaks is a failure in `report` (nil returned).
    static func prepare(base: GatedArchive, request: VerificationRequest, into report: inout VerificationReport) throws -> ReplayCheck? {
        guard !base.isPartitioned else { throw ReplayError.notABase("a partitioned archive is never a base") }
        let replay = SegmentReplay(base: base, storeSettings: request.storeSettings, policy: request.policy, keys: request.keys, limits: request.limits)
        var later: LaterBase?
        var target = request.until ?? .latest
        if let other = request.untilArchive {
            let location = try ArchiveLocation(other, settings: request.storeSettings)
            let gated: GatedArchive
            do {
                gated = try GatedArchive.open(location, policy: request.policy, limits: request.limits)
            } catch let problem as SealProblem {
                report.fail("until-archive \(problem.location)", problem.problem)
                return nil
            }
            guard let seal = gated.seal, !seal.isChangeSegment, !seal.isFilesArchive, !gated.isPartitioned else {
                throw VerificationError.notALaterBase(other, "it is not a signed archive of tables")
            }
            guard seal.walLSNExact == true, let point = ReplayTarget.before(seal.walLSN) else {
                throw VerificationError.notALaterBase(other, "its seal does not state an exact WAL position (export it with --exact-position, or take it with pgseal follow)")
            }
            guard seal.profile == base.seal?.profile else {
                throw VerificationError.notALaterBase(other, "it is of profile \(Terminal.escaped(seal.profile)), the base of \(Terminal.escaped(base.seal?.profile ?? "-"))")
            }
            later = LaterBase(location: location.display, seal: seal)
            target = point
        }
        do {
            return ReplayCheck(replay: replay, target: target, later: later, segments: try replay.segments(until: target), live: request.liveComparison)
        } catch let problem as SealProblem {
            report.fail("change segment \(problem.location)", problem.problem)
        } catch let error as ReplayError where error.isIntegrityFailure {
            report.fail("replay", "\(error)")
        }
        return nil
    }

    /// Replays the chain onto the tables restored in `scratch` and reads them back.
    func run(tables: [TableDefinitions.Table], scratch: ScratchDatabase, into report: inout VerificationReport) throws {
        let connection = try scratch.connect()
        try connection.run(script: "BEGIN")
        let replayed: ReplayResult
        do {
            replayed = try replay.apply(segments, until: target, tables: tables, on: connection)
            try connection.execute("COMMIT")
        } catch {
            _ = try? connection.execute("ROLLBACK")
            if let problem = error.sealProblem {
                report.fail("change segment \(problem.location)", problem.problem)
                return
            }
            guard let integrity = error as? IntegrityViolation, integrity.isIntegrityFailure else { throw error }
            report.fail("replay", "\(error)")
            return
        }
        var point = VerificationReport.PointInTime(target: later.map { "before \($0.seal.walLSN)" } ?? target.description, replayed: replayed,
                                                   against: later?.location)
        for table in tables {
            let (rows, digest) = try TableReadBack.digest(table, on: connection)
            var entry = VerificationReport.PointInTime.Table(name: table.qualifiedName, rows: rows, digest: digest)
            if let later {
                let sealed = later.seal.tables.first { $0.name == table.qualifiedName }
                entry.expectedRows = sealed?.rows
                entry.expectedDigest = sealed?.digest
                entry.matches = sealed.map { $0.rows == rows && $0.digest == digest }
                if let sealed, entry.matches == false {
                    report.fail("continuity \(table.qualifiedName)", "the base and its segments replayed to \(later.seal.walLSN) give \(rows) rows, digest \(digest); "
                        + "\(later.location) sealed \(sealed.rows) rows, \(sealed.digest) — a change reached the database that the segments do not hold, or the later base is not of this database")
                }
            }
            point.tables.append(entry)
        }
        if let later {
            let replayedNames = Set(tables.map(\.qualifiedName))
            for missing in later.seal.tables where !replayedNames.contains(missing.name) {
                report.fail("continuity \(Terminal.escaped(missing.name))", "\(later.location) holds this table and the base does not: nothing proves it")
            }
        }
        if let live {
            point.live = try tables.map { try live.compare($0, replayed: connection) }
        }
        report.pointInTime = point
    }
}
