import ArchiveReading
import ByteStreams
import DatabaseCatalog
import Display
import Foundation
import ObjectStore
import Restore

/// `pgseal diff BASE --db LIVE --replay`: the live database read in one exact snapshot (a
/// temporary slot's consistent point), compared row by row with BASE and its change segments
/// replayed in a scratch database to just before that point — so "the archive equals the
/// database" holds to the transaction, not to the hour. The base is verified at level restore
/// and each segment passes the seal gate on the way, as `verify --until` does.
package enum ReplayedDiff {
    package struct Failed: Error, CustomStringConvertible, IntegrityViolation {
        let failures: [VerificationReport.Failure]

        package var description: String {
            "the base or its change segments did not verify, so nothing was compared: "
                + failures.map { "\($0.location): \($0.problem)" }.joined(separator: "; ")
        }
        package var isIntegrityFailure: Bool { true }
    }

    package struct Unavailable: Error, CustomStringConvertible {
        let problems: [String]
        package var description: String {
            "diff --replay reads the live database in the snapshot of a temporary logical replication slot, and the server cannot make one: "
                + problems.joined(separator: "; ")
        }
    }

    /// Waits up to `wait` for the follower to seal past the snapshot's position.
    package static func run(_ request: DiffRequest, scratchDatabaseURL: String, wait: TimeInterval, cleanup: CleanupRegistry?) throws -> DiffReport {
        let started = Date()
        let exact: ExactSnapshot
        do { exact = try ExactSnapshot.take(conninfo: request.databaseURL) } catch let unavailable as ExactSnapshot.Unavailable {
            throw Unavailable(problems: unavailable.problems)
        }
        guard let target = ReplayTarget.before(exact.walLSN) else {
            throw ReplayError.notABase("the server's consistent point \(Terminal.escaped(exact.walLSN)) is not a WAL position")
        }
        let base = try GatedArchive.open(try ArchiveLocation(request.archive, settings: request.storeSettings), policy: request.policy, limits: request.limits)
        let replay = SegmentReplay(base: base, storeSettings: request.storeSettings, policy: request.policy, keys: request.keys, limits: request.limits)
        let deadline = started.addingTimeInterval(wait)
        while true {
            do {
                _ = try replay.segments(until: target)
                break
            } catch ReplayError.notCovered where Date() < deadline {
                Thread.sleep(forTimeInterval: 1)
            } catch ReplayError.notCovered(let point, let reach) {
                throw ReplayError.notCovered(target: point, reach: reach + "; waited \(Int(wait)) s for pgseal follow to seal past it (is it running? --wait gives it longer)")
            }
        }
        var verification = VerificationRequest(archive: request.archive, level: .restore, policy: request.policy, keys: request.keys)
        verification.limits = request.limits
        verification.storeSettings = request.storeSettings
        verification.cleanup = cleanup
        verification.scratchDatabaseURL = scratchDatabaseURL
        verification.until = target
        verification.liveComparison = LiveComparison(databaseURL: request.databaseURL, snapshot: exact.snapshot, show: request.show)
        // The snapshot lives as long as the session that exported it.
        let verified = try withExtendedLifetime(exact) { try Verifier.run(verification) }
        guard verified.ok, let point = verified.pointInTime, let live = point.live else { throw Failed(failures: verified.failures) }
        var report = DiffReport(archive: request.archive, database: exact.session.target, snapshot: exact.snapshot)
        report.tables = live
        report.position = exact.walLSN
        report.replayed = point.replayed
        report.seconds = Date().timeIntervalSince(started)
        return report
    }
}
