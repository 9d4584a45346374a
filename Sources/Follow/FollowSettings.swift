import DatabaseCatalog
import Export
import Foundation

/// What a follower needs beyond an export's settings, which say where the database and the
/// store are, which tables, and how segments are encrypted, compressed and signed.
public struct FollowSettings: Sendable {
    /// The base exports' settings, and the segments' (recipients, signing key, compression, store).
    public var export: ExportSettings
    /// The logical replication slot: one per profile and database (default `pgseal_<profile>`).
    public var slot: String
    /// The publication of the profile's tables (default `pgseal_<profile>`), made when missing.
    public var publication: String
    /// A segment is sealed once it is this old (seconds, default 60) …
    public var segmentInterval: TimeInterval = 60
    /// … or holds this many bytes of change lines (default 64 MiB), whichever comes first.
    public var segmentMaxBytes: Int = 64 << 20
    /// With no change of the profile's tables, a segment (then empty) is still sealed this often
    /// while the server's WAL moves, so that the slot lets PostgreSQL free it.
    public var idleSealInterval: TimeInterval = 600
    /// One-shot: stop once every transaction committed before the start is sealed.
    public var untilCaughtUp = false
    /// Drop the slot and start a new chain with a new base, whatever the store holds.
    public var newBase = false
    /// The largest chunk of change lines in a segment's tar (default 4 MiB).
    public var chunkBytes: Int = 4 << 20
    /// How much of one transaction's change lines is held in memory before they all go to a
    /// temporary file (default 8 MiB).
    public var spoolMemoryBytes: Int = 8 << 20
    /// The largest transaction spooled (its change lines, default 64 GiB): past it the follower
    /// stops rather than fill the disk.
    public var maxTransactionBytes: Int64 = 64 << 30
    /// How often the follower tells the server its position when nothing else happens.
    public var statusInterval: TimeInterval = 10

    public init(export: ExportSettings) {
        self.export = export
        let name = Self.defaultName(profile: export.profile.name)
        slot = name
        publication = name
    }

    /// `pgseal_` and the profile's name in the letters a slot name may hold (lower-case letters,
    /// digits, `_`; at most 63 bytes), with a short digest of the name when it had to change,
    /// so that two profiles never share a slot.
    public static func defaultName(profile: String) -> String {
        let lowered = profile.lowercased()
        let cleaned = String(lowered.unicodeScalars.map { scalar -> Character in
            (scalar >= "a" && scalar <= "z") || (scalar >= "0" && scalar <= "9") ? Character(scalar) : "_"
        })
        var name = "pgseal_" + cleaned
        if cleaned != profile || name.utf8.count > 63 {
            var hash: UInt32 = 2_166_136_261
            for byte in profile.utf8 { hash = (hash ^ UInt32(byte)) &* 16_777_619 }
            let suffix = "_" + String(hash, radix: 16)
            name = String(name.prefix(63 - suffix.utf8.count)) + suffix
        }
        return name
    }

    /// A slot or publication name PostgreSQL takes as a slot name: `[a-z0-9_]{1,63}`.
    public static func isValidSlotName(_ name: String) -> Bool {
        !name.isEmpty && name.utf8.count <= 63 && name.utf8.allSatisfy { ($0 >= 0x61 && $0 <= 0x7A) || ($0 >= 0x30 && $0 <= 0x39) || $0 == 0x5F }
    }
}
