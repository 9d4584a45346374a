import Foundation

/// What one run of the follower did.
public struct FollowResult: Sendable, Codable {
    public struct Segment: Sendable, Codable {
        public let key: String
        public let fromLSN: String
        public let toLSN: String
        public let transactions: Int
        public let changes: Int

        enum CodingKeys: String, CodingKey {
            case key, transactions, changes
            case fromLSN = "from_lsn"
            case toLSN = "to_lsn"
        }
    }

    public var profile: String
    public var slot: String
    /// The base export this run took (a new chain), nil when it continued one.
    public var newBase: String?
    /// Why a new chain began where one existed: the slot was lost or dropped, or the tables'
    /// definitions changed. A break is alerted: changes between the old chain's end and the new
    /// base's position cannot be replayed (the new base holds their result).
    public var breaks: [String] = []
    public var segments: [Segment] = []
    /// The position every sealed segment reaches: the slot's confirmed position.
    public var sealedLSN: String
    public var caughtUp = false

    enum CodingKeys: String, CodingKey {
        case profile, slot, breaks, segments
        case newBase = "new_base"
        case sealedLSN = "sealed_lsn"
        case caughtUp = "caught_up"
    }
}

/// What stops a follower, each naming what to do.
public enum FollowError: Error, CustomStringConvertible {
    case notReady([String])
    case filterNeedsFullIdentity(table: String)
    case slotInUse(slot: String, detail: String)
    case definitionChanged(table: String, detail: String)
    case stream(String)

    public var description: String {
        switch self {
        case .notReady(let problems):
            "the database is not ready for following:\n  " + problems.joined(separator: "\n  ")
        case .filterNeedsFullIdentity(let table):
            "table \(table) has a filter in the profile: pgseal decides from the old and the new row whether a change enters or leaves the profile, and PostgreSQL sends the old row only under REPLICA IDENTITY FULL — run ALTER TABLE \(table) REPLICA IDENTITY FULL (a publication row filter would instead make the application's UPDATEs fail), or drop the filter"
        case .slotInUse(let slot, let detail):
            "replication slot \(slot) is in use by another process (\(detail)): two followers never consume one slot; stop the other, or give this one its own --slot"
        case .definitionChanged(let table, let detail):
            "table \(table) changed while followed (\(detail))"
        case .stream(let detail):
            "the replication stream: \(detail)"
        }
    }
}
