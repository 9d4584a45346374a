extension CommitStamp {
    /// The stamp a change line's `lsn`, `xid` and `committed_at` spell (docs/FORMAT.md §11.4),
    /// when each is spelled exactly as the follower writes it — the LSN as PostgreSQL prints it,
    /// a 32-bit transaction id, a time that exists — and nil for any other spelling: a line has
    /// one spelling, as a row has.
    package init?(lsn: String, xid: UInt64, committedAt: String) {
        guard let position = LSN(lsn), position.description == lsn, let xid = UInt32(exactly: xid),
              let micros = Self.micros(of: committedAt) else { return nil }
        self.init(xid: xid, commitLSN: position, committedAt: micros)
        // A day or time out of range (02-30, 25:00) computes another time, spelled otherwise.
        guard committedAtText == committedAt else { return nil }
    }

    /// Microseconds since 2000-01-01 of `YYYY-MM-DDTHH:MM:SS.ffffffZ` read field by field (days
    /// from a civil date as in Howard Hinnant's algorithm, the inverse of `committedAtText`).
    private static func micros(of text: String) -> Int64? {
        guard isText(text) else { return nil }
        let digits = Array(text.utf8)
        func field(_ start: Int, _ count: Int) -> Int64 {
            digits[start..<(start + count)].reduce(Int64(0)) { $0 * 10 + Int64($1 - UInt8(ascii: "0")) }
        }
        let (month, day) = (field(5, 2), field(8, 2))
        guard field(0, 4) >= 1, (1...12).contains(month), (1...31).contains(day) else { return nil }
        let year = field(0, 4) - (month <= 2 ? 1 : 0)
        let era = (year >= 0 ? year : year - 399) / 400
        let yearOfEra = year - era * 400
        let dayOfYear = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        let days = era * 146_097 + dayOfEra - 719_468 - 10_957
        let seconds = days * 86_400 + field(11, 2) * 3600 + field(14, 2) * 60 + field(17, 2)
        return seconds * 1_000_000 + field(20, 6)
    }
}
