import ArchiveFormat
import ArchiveReading
import ByteStreams
import CanonicalJSON
import ChangeCapture
import Cryptography
import Display
import Foundation
import ObjectStore
import Postgres

/// How far a replay goes (`restore --until`).
public enum ReplayTarget: Sendable, Equatable, CustomStringConvertible {
    /// Every transaction whose commit LSN is at or before this position.
    case lsn(String)
    /// Every transaction committed at or before this time.
    case time(Date)
    /// Every transaction of every sealed segment of the base's chain.
    case latest

    /// `latest`, an LSN (`16/B374D848`) or an RFC 3339 time.
    public init?(parsing text: String) {
        if text == "latest" { self = .latest; return }
        if LSN(text) != nil { self = .lsn(text); return }
        let formatter = ISO8601DateFormatter()
        for options: ISO8601DateFormatter.Options in [[.withInternetDateTime, .withFractionalSeconds], [.withInternetDateTime]] {
            formatter.formatOptions = options
            if let date = formatter.date(from: text) { self = .time(date); return }
        }
        return nil
    }

    /// Every transaction committed before `position` (an exact base's `wal_lsn`: what that
    /// base holds), nil when `position` is no LSN or is 0/0.
    public static func before(_ position: String) -> ReplayTarget? {
        guard let point = LSN(position), point.value > 0 else { return nil }
        return .lsn(LSN(point.value - 1).description)
    }

    public var description: String {
        switch self {
        case .lsn(let text): text
        case .time(let date): CommitStamp.text(of: date)
        case .latest: "latest"
        }
    }
}

/// What a replay applied.
public struct ReplayResult: Codable, Sendable {
    public var segments = 0
    public var transactions = 0
    public var changes = 0
    /// The commit LSN and time of the last transaction applied (nil: none).
    public var lastLSN: String?
    public var lastCommit: String?

    enum CodingKeys: String, CodingKey {
        case segments, transactions, changes
        case lastLSN = "last_lsn"
        case lastCommit = "last_commit"
    }
}

/// What stops a replay: each names the segment and what is wrong with it.
public enum ReplayError: Error, CustomStringConvertible, IntegrityViolation {
    case notABase(String)
    case notCovered(target: String, reach: String)
    case broken(segment: String, problem: String)
    case conflict(segment: String, line: Int, problem: String)

    public var isIntegrityFailure: Bool {
        switch self {
        case .notABase, .notCovered: false
        case .broken, .conflict: true
        }
    }

    public var description: String {
        switch self {
        case .notABase(let why): "cannot replay changes onto this archive: \(why)"
        case .notCovered(let target, let reach):
            "the sealed changes do not reach \(target): \(reach). Restore to an earlier point, or with --until latest to everything sealed"
        case .broken(let segment, let problem): "change segment \(segment): \(problem)"
        case .conflict(let segment, let line, let problem): "change segment \(segment), line \(line): \(problem) — the chain does not replay onto its base"
        }
    }
}

/// Replays a base's change segments (docs/FORMAT.md §11) onto the tables restored from it,
/// inside the restore's transaction: each segment through the seal gate, its place in the chain
/// checked (base, previous segment, WAL range), its lines applied with their values as
/// statement parameters, and nothing committed unless every segment read is the sealed one.
package struct SegmentReplay {
    let base: GatedArchive
    let storeSettings: StoreSettings
    let policy: TrustPolicy
    let keys: AgeKeyring
    let limits: ReadLimits

    package init(base: GatedArchive, storeSettings: StoreSettings, policy: TrustPolicy, keys: AgeKeyring, limits: ReadLimits) {
        self.base = base
        self.storeSettings = storeSettings
        self.policy = policy
        self.keys = keys
        self.limits = limits
    }

    /// The base's chain, in order, up to the segment that reaches `target`.
    package func segments(until target: ReplayTarget) throws -> [GatedArchive] {
        guard let baseSeal = base.seal, let baseSHA256 = base.sealSHA256, !baseSeal.isChangeSegment, !baseSeal.isFilesArchive,
              let baseLSN = LSN(baseSeal.walLSN) else {
            throw ReplayError.notABase("it is not a signed archive of tables with a WAL position")
        }
        if case .lsn(let text) = target, let point = LSN(text), point < baseLSN {
            throw ReplayError.notABase("\(text) is before the base's position \(baseLSN)")
        }
        let ownBase = SealChain.Link(object: base.location.name, sealSHA256: baseSHA256)
        let store = try storeRoot(profile: baseSeal.profile)
        let listing = try store.list(prefix: SegmentNaming.prefix(profile: baseSeal.profile)).map(\.key)
        let present = Set(listing)
        // Segments are named by the time they were begun: none begun more than a day before
        // the base can hold a change after it.
        let baseDay = Self.dayBefore(baseSeal.createdAt)
        let candidates = listing.filter { $0.hasSuffix(".seal") && present.contains($0 + ".sig") }
            .map { String($0.dropLast(".seal".count)) }
            .filter { key in
                let parts = key.split(separator: "/")
                return parts.count >= 6 && parts[2...4].joined(separator: "/") >= baseDay
            }.sorted()
        var chain: [GatedArchive] = []
        // The base the chain's segments name: this one, or — for a base at an exact position
        // (§11.5) without a chain of its own — the base of the chain that covers its position.
        var chainBase: SealChain.Link?
        var previousEnd = baseLSN
        var reached = false
        var reach = "the newest sealed change is at \(baseLSN) (the base)"
        for key in candidates {
            let segment: GatedArchive
            do {
                segment = try GatedArchive.open(ArchiveLocation(store: store, key: key), policy: policy, limits: limits)
            } catch let error as StoreError {
                // A segment pruned with its chain's base keeps only its seal: no loss before the
                // part of a chain this base replays, a break inside it.
                guard case .notFound = error else { throw error }
                if chainBase == nil { continue }
                throw ReplayError.broken(segment: store.location(of: key), problem: "its object is gone (pruned or removed), so the chain cannot be replayed past it")
            }
            guard let seal = segment.seal, let range = seal.changes, seal.isChangeSegment else { continue }
            let name = segment.location.display
            guard let from = LSN(range.fromLSN), let to = LSN(range.toLSN), from <= to else {
                throw ReplayError.broken(segment: name, problem: "its WAL range \(Terminal.escaped(range.fromLSN))–\(Terminal.escaped(range.toLSN)) is not one")
            }
            if let chainBase {
                guard range.base == chainBase else { break }  // the next chain: this one ended
            } else if range.base == ownBase {
                chainBase = ownBase
            } else if baseSeal.walLSNExact == true, from <= baseLSN, baseLSN < to {
                chainBase = range.base
                previousEnd = from
            } else {
                continue
            }
            guard from == previousEnd else {
                throw ReplayError.broken(segment: name, problem: "it starts at \(from), where the chain before it ends at \(previousEnd): a gap or an overlap")
            }
            if let previous = chain.last, seal.chain?.previous?.sealSHA256 != previous.sealSHA256 {
                throw ReplayError.broken(segment: name, problem: "its seal does not link to the segment before it")
            }
            chain.append(segment)
            previousEnd = to
            reach = "the newest sealed segment of the chain ends at \(to)\(range.lastCommit.map { ", last commit \($0)" } ?? "")"
            switch target {
            case .lsn(let text):
                if let point = LSN(text), to > point { reached = true }
            case .time(let date):
                if let last = range.lastCommit, last > CommitStamp.text(of: date) { reached = true }
            case .latest:
                break
            }
            if reached { break }
        }
        if target != .latest, !reached { throw ReplayError.notCovered(target: target.description, reach: reach) }
        return chain
    }

    /// `YYYY/MM/DD` of the day before `stamp` (RFC 3339), as segment keys spell days.
    static func dayBefore(_ stamp: String) -> String {
        let parser = ISO8601DateFormatter()
        let day = parser.date(from: stamp).map { $0.addingTimeInterval(-86_400) } ?? Date(timeIntervalSince1970: 0)
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyy/MM/dd"
        return formatter.string(from: day)
    }

    /// The store the base lies in, named by its place: `<store>/<profile>/YYYY/MM/DD/<name>`.
    private func storeRoot(profile: String) throws -> ObjectStore {
        let parts = base.location.display.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count >= 5, parts[parts.count - 5] == profile,
              parts[(parts.count - 4)...(parts.count - 2)].allSatisfy({ $0.utf8.allSatisfy { $0 >= 0x30 && $0 <= 0x39 } }) else {
            throw ReplayError.notABase("its change segments are found beside it in its store (<store>/\(profile)/YYYY/MM/DD/), and it does not lie there")
        }
        let root = parts.dropLast(5).joined(separator: "/")
        let location = root.isEmpty ? "." : root.hasPrefix("s3://") && !root.hasSuffix("/") ? root + "/" : root
        return try openStore(location, settings: storeSettings)
    }

    /// Applies `segments` to the tables `selected` (qualified names) through `connection`, in
    /// the caller's transaction, up to `target`.
    package func apply(_ segments: [GatedArchive], until target: ReplayTarget, tables selected: [TableDefinitions.Table],
                       on connection: PostgresConnection) throws -> ReplayResult {
        var statements: [String: ChangeStatements] = [:]
        for table in selected where statements[table.qualifiedName] == nil {
            statements[table.qualifiedName] = try ChangeStatements(table, on: connection)
        }
        // Lines before the base's own position are in the base already (an adopted chain).
        let start = base.seal.flatMap { LSN($0.walLSN) } ?? LSN.zero
        // Statements are pipelined: a replay is many small statements, and the round trip each
        // would wait for is most of its time. A conflict is found when its result comes back,
        // and named with its segment and line all the same.
        let pipeline = try StatementPipeline(connection)
        let result = try walk(segments, from: start, until: target, tables: selected) { change, segment, line in
            let named = { (error: Error) -> Error in
                guard let problem = error as? ChangeStatements.Conflict else { return error }
                return ReplayError.conflict(segment: segment, line: line, problem: problem.description)
            }
            do { try send(change, statements, pipeline, named) } catch { throw named(error) }
        }
        try pipeline.finish()
        return result
    }

    /// Reads `segments` in order and hands `visit` each change whose commit LSN is at or after
    /// `start`, up to `target` — every segment proven as `apply` says, its lines checked for
    /// order and range whether visited or not. `tables` are the definitions the caller's tables
    /// have: a segment that defines one otherwise is a break.
    package func walk(_ segments: [GatedArchive], from start: LSN, until target: ReplayTarget, tables: [TableDefinitions.Table],
                      visit: (ChangeLineDecoder.Change, _ segment: String, _ line: Int) throws -> Void) throws -> ReplayResult {
        var result = ReplayResult()
        let known = Dictionary(tables.map { ($0.qualifiedName, $0) }, uniquingKeysWith: { a, _ in a })
        let until: (lsn: LSN?, time: String?) = switch target {
        case .lsn(let text): (LSN(text), nil)
        case .time(let date): (nil, CommitStamp.text(of: date))
        case .latest: (nil, nil)
        }
        var done = false
        for segment in segments {
            let object = try segment.openObject()
            try segment.reading(object) {
                try walkOne(segment, object: object, tables: known, start: start, until: until, done: &done, result: &result, visit: visit)
            }
            result.segments += 1
            if done { break }
        }
        return result
    }

    private func walkOne(_ segment: GatedArchive, object: SealBoundSource, tables known: [String: TableDefinitions.Table], start: LSN,
                         until: (lsn: LSN?, time: String?), done: inout Bool, result: inout ReplayResult,
                         visit: (ChangeLineDecoder.Change, String, Int) throws -> Void) throws {
        let name = segment.location.display
        guard let seal = segment.seal, let range = seal.changes, let from = LSN(range.fromLSN), let to = LSN(range.toLSN) else {
            throw ReplayError.broken(segment: name, problem: "its seal has no WAL range")
        }
        let tar = try segment.tar(over: object, keys: keys)
        var decoder: ChangeLineDecoder?
        var expectedChunk = 1
        var chunks: [SegmentManifest.Chunk] = []
        var manifest: SegmentManifest?
        var tally = SegmentTally()
        var visitedLSN: LSN?
        let lines = LineSplitter(maxLineBytes: limits.maxRowBytes)
        while let entry = try tar.nextEntry() {
            guard manifest == nil else { throw ReplayError.broken(segment: name, problem: "an entry follows its manifest") }
            if entry.path == TableDefinitions.entryPath, decoder == nil, expectedChunk == 1 {
                let bytes = try tar.readAll(entry, limit: ArchiveManifest.sizeLimit)
                guard SHA256Hasher.hash(bytes).hex == seal.tablesSHA256 else {
                    throw ReplayError.broken(segment: name, problem: "its tables.json is not the one its seal names")
                }
                let definitions = try TableDefinitions.decode(bytes)
                var tables: [String: ChangeLineDecoder.Table] = [:]
                for table in definitions.tables {
                    let columns = try table.columnSpecs()
                    tables[table.qualifiedName] = ChangeLineDecoder.Table(
                        columns: columns, keyColumns: table.key.compactMap { key in columns.firstIndex { $0.name.isByteEqual(to: key) } })
                    if let restored = known[table.qualifiedName], !ChangeStatements.sameColumns(restored, table) {
                        throw ReplayError.broken(segment: name, problem: "it defines \(Terminal.escaped(table.qualifiedName)) with other columns than the base")
                    }
                }
                decoder = ChangeLineDecoder(tables: tables)
                continue
            }
            if entry.path == Manifest.entryPath {
                manifest = try JSONDecoder().decode(SegmentManifest.self, from: Data(try tar.readAll(entry, limit: ArchiveManifest.sizeLimit)))
                continue
            }
            guard let number = SegmentNaming.chunkNumber(of: entry.path), number == expectedChunk, let decoder else {
                throw ReplayError.broken(segment: name, problem: "unexpected entry \(Terminal.escaped(entry.path)) (tables.json, then changes/000001.jsonl on, then manifest.json)")
            }
            expectedChunk += 1
            let hasher = SHA256Hasher()
            try tar.forEachBlock { block in
                hasher.update(block)
                try lines.feed(block) { line in
                    let change: ChangeLineDecoder.Change
                    do { change = try decoder.decode(line) } catch {
                        throw ReplayError.broken(segment: name, problem: "\(Terminal.escaped(entry.path)) line \(lines.lineCount): \(error)")
                    }
                    guard let stamp = CommitStamp(lsn: change.lsn, xid: change.xid, committedAt: change.committedAt) else {
                        throw ReplayError.broken(segment: name, problem: "line \(lines.lineCount): its lsn, xid or committed_at is not spelled as a follower writes it")
                    }
                    let lsn = stamp.commitLSN
                    guard lsn >= from, lsn < to else {
                        throw ReplayError.broken(segment: name, problem: "line \(lines.lineCount): its commit LSN \(lsn) is outside the segment's range")
                    }
                    if let problem = tally.disorder(change, at: lsn) {
                        throw ReplayError.broken(segment: name, problem: "line \(lines.lineCount): \(problem)")
                    }
                    tally.count(change, at: lsn)
                    if done || lsn < start { return }
                    if let point = until.lsn, lsn > point { done = true; return }
                    if let point = until.time, change.committedAt > point { done = true; return }
                    if lsn != visitedLSN { result.transactions += 1 }
                    visitedLSN = lsn
                    result.changes += 1
                    result.lastLSN = change.lsn
                    result.lastCommit = change.committedAt
                    try visit(change, name, lines.lineCount)
                }
            }
            let chunkLines = lines.lineCount
            if lines.endHasPartialLine() { throw ReplayError.broken(segment: name, problem: "\(Terminal.escaped(entry.path)): \(LineSplitter.cutLastLine)") }
            chunks.append(SegmentManifest.Chunk(path: entry.path, lines: chunkLines, sha256: hasher.finalize().hex))
        }
        // Nothing counts unless the object read is, to its last byte, the sealed one.
        try object.finish()
        guard let manifest else { throw ReplayError.broken(segment: name, problem: "its manifest.json is missing") }
        guard manifest.chunks == chunks else {
            let differing = zip(chunks, manifest.chunks).first { $0 != $1 }.map { read, listed in
                "\(read.path) holds \(read.lines) lines of SHA-256 \(read.sha256); the manifest lists \(Terminal.escaped(listed.path)) of \(listed.lines), \(Terminal.escaped(listed.sha256))"
            }
            throw ReplayError.broken(segment: name, problem: "its chunks are not the ones its manifest lists: \(differing ?? "\(chunks.count) read, \(manifest.chunks.count) listed")")
        }
        guard manifest.range == range, manifest.profile == seal.profile else {
            throw ReplayError.broken(segment: name, problem: "its manifest's range or profile is not its seal's")
        }
        if let problem = tally.contradiction(with: range) { throw ReplayError.broken(segment: name, problem: problem) }
    }

    private func send(_ change: ChangeLineDecoder.Change, _ statements: [String: ChangeStatements], _ pipeline: StatementPipeline,
                      _ named: @escaping (Error) -> Error) throws {
        if change.operation == .truncate {
            let names = change.tables.compactMap { statements[$0]?.name }
            if !names.isEmpty { try pipeline.send("TRUNCATE \(names.joined(separator: ", "))") }
            return
        }
        guard let table = statements[change.table] else { return }  // a table not restored
        try table.send(change, into: pipeline, wrapping: named)
    }
}
