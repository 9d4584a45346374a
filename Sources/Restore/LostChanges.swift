import ArchiveFormat
import ArchiveReading
import ByteStreams
import Cryptography
import Display
import Foundation
import ObjectStore

/// `pgseal lost`: after a database was restored to an earlier point (a point-in-time restore of
/// the cluster, a snapshot), the profile's changes committed after that point — which the
/// restore lost — found in a base's change segments, listed, and put back in one transaction,
/// each change only where the row is still as the restore left it (docs/POST-RESTORE.md).
public struct LossRequest: Sendable {
    /// The base archive whose chain covers the point the database was restored to.
    public var base: String
    /// The restored database.
    public var databaseURL: String
    /// A server where scratch databases are made (the base and its segments replayed there).
    public var scratchDatabaseURL: String
    /// The point the database reflects; nil: found from the rows (the newest transaction of
    /// the chain whose effects the database shows).
    public var restoredTo: ReplayTarget?
    /// Write the lost changes (one transaction); otherwise say what would be done and roll back.
    public var putBack = false
    /// A row that is no longer as the restore left it (written since): left alone, overwritten
    /// with the change's result, or the end of everything.
    public var onConflict: RecoveryRequest.Conflict = .fail
    public var policy: TrustPolicy
    public var keys: AgeKeyring
    public var limits = ReadLimits()
    public var storeSettings = StoreSettings()
    public var cleanup: CleanupRegistry?
    /// How many changes the result lists one by one (all are counted).
    public var show = 1000

    public init(base: String, databaseURL: String, scratchDatabaseURL: String, policy: TrustPolicy, keys: AgeKeyring) {
        self.base = base
        self.databaseURL = databaseURL
        self.scratchDatabaseURL = scratchDatabaseURL
        self.policy = policy
        self.keys = keys
    }
}

public struct LossReport: Codable, Sendable {
    public struct Change: Codable, Sendable {
        public let lsn: String
        public let xid: UInt64
        public let committedAt: String
        public let operation: String
        public let table: String
        public let key: [String?]
        /// `put back`, `already there`, `conflict` (dry run under fail), `left alone`,
        /// `overwritten`, or `not put back: …` with why.
        public let action: String

        enum CodingKeys: String, CodingKey {
            case lsn, xid, table, key, action
            case committedAt = "committed_at"
            case operation = "op"
        }
    }

    public var base: String
    public var database: String
    /// The point the database reflects: the last transaction it shows (an LSN), or the one given.
    public var restoredTo: String = ""
    /// That transaction's commit time, when found from the rows.
    public var restoredToCommit: String?
    /// `given` (--restored-to) or `found` (from the rows).
    public var point: String = "given"
    public var notes: [String] = []
    /// Changes and transactions committed after the point.
    public var lostChanges = 0
    public var lostTransactions = 0
    public var putBack = 0
    public var alreadyThere = 0
    public var conflicts = 0
    public var leftAlone = 0
    public var overwritten = 0
    public var notPutBack = 0
    public var changes: [Change] = []
    /// Whether the changes were written (committed); false for a dry run.
    public var written = false
    public var seconds: Double = 0

    enum CodingKeys: String, CodingKey {
        case base, database, point, notes, conflicts, overwritten, changes, written, seconds
        case restoredTo = "restored_to", restoredToCommit = "restored_to_commit"
        case lostChanges = "lost_changes", lostTransactions = "lost_transactions"
        case putBack = "put_back", alreadyThere = "already_there", leftAlone = "left_alone", notPutBack = "not_put_back"
    }
}

public enum LossError: Error, CustomStringConvertible {
    /// Under the fail policy, a row written since the restore; nothing was written.
    case conflict(table: String, key: String, lsn: String)
    /// The restored database refused a write (a constraint, a trigger); nothing was written.
    case refused(table: String, reason: String)
    case noSuchTable(String)

    public var description: String {
        switch self {
        case .conflict(let table, let key, let lsn):
            "\(Terminal.escaped(table)) key \(Terminal.escaped(key)): the row was written since the restore, so the change committed at \(lsn) does not apply to it as it is; nothing was written — look at it (pgseal lost without --put-back lists every change), then choose --on-conflict skip or update"
        case .refused(let table, let reason):
            "the restored database refused a change to \(Terminal.escaped(table)): \(reason); nothing was written"
        case .noSuchTable(let table):
            "the restored database has no table \(Terminal.escaped(table)); restore it first (pgseal restore), then put its lost changes back"
        }
    }
}
