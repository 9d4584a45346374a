import ArchiveFormat
import ArchiveReading
import CanonicalJSON
import ChangeCapture
import Cryptography
import Foundation
import ObjectStore
import TestSupport
import Verify
import XCTest

/// A bounded mutation fuzzer over every reader of hostile bytes: rows, change lines, whole tar
/// streams through the deep checks, manifests and table definitions, seals, age headers, SSH
/// signatures and allowed_signers files. Seeds come from a real export of the fixture. `make test` runs a short
/// pass (PGSEAL_FUZZ_ITERATIONS, default 300 per target); `make fuzz` runs each target for
/// PGSEAL_FUZZ_SECONDS and keeps the input of a crash in Tests/EndToEndTests/FuzzRegressions,
/// which every run replays first. A trap kills the test process: that is the failure.
final class FuzzTests: XCTestCase {
    /// What the readers are fed, from one export.
    struct Corpus {
        var rows: [[UInt8]] = []
        var columns: [ColumnSpec] = []
        /// Rows of edge_values: one column of every encoding (float, numeric, integer,
        /// boolean, timestamptz, json-text, array-text, text), at their edges.
        var typedRows: [[UInt8]] = []
        var typedColumns: [ColumnSpec] = []
        /// Rows of the pgseal/1 conformance vector: json embedded and arrays as JSON arrays,
        /// the decoders only old archives reach.
        var v1Rows: [[UInt8]] = []
        var v1Columns: [ColumnSpec] = []
        var tar: [UInt8] = []
        /// The sealed tar's entries in archive order.
        var ordered: [(path: String, contents: [UInt8])] = []
        /// Each table's definition, by qualified name.
        var definitions: [String: TableDefinitions.Table] = [:]
        var seal: SealDocument!
        var sealBytes: [UInt8] = []
        var signature: [UInt8] = []
        var allowedSigners: [UInt8] = []
        var signers: AllowedSigners!
        var manifest: [UInt8] = []
        var tablesJSON: [UInt8] = []
        var ageFile: [UInt8] = []
        var identity: AgeIdentity!
        /// The sealed tar's entries, by path.
        var entries: [String: [UInt8]] = [:]
        /// Change lines of the conformance vector changes-good (every operation, a moved key,
        /// an unchanged TOASTed value), the tables its segments define, and their reader.
        var changeLines: [[UInt8]] = []
        var changeTables: [String: ChangeTable] = [:]
        var changeDecoder: ChangeLineDecoder!

        /// A tar's entries by path, nil when it cannot be read whole.
        static func entries(of tar: [UInt8]) -> [String: [UInt8]]? {
            ordered(tar).map { Dictionary($0.map { ($0.path, $0.contents) }, uniquingKeysWith: { first, _ in first }) }
        }

        /// A tar's entries in order, nil when it cannot be read whole.
        static func ordered(_ tar: [UInt8]) -> [(path: String, contents: [UInt8])]? {
            guard let reader = try? TarReader(source: MemorySource(tar), limit: 64 << 20) else { return nil }
            var entries: [(path: String, contents: [UInt8])] = []
            while let entry = try? reader.nextEntry() {
                guard let contents = try? reader.readAll(entry, limit: 64 << 20) else { return nil }
                entries.append((entry.path, contents))
            }
            return entries
        }

        /// A valid tar of `entries`: so that a mutation inside an entry passes libarchive's
        /// header checks and reaches the readers of rows, digests and the manifest.
        static func tar(_ entries: [(path: String, contents: [UInt8])]) -> [UInt8] {
            let sink = MemorySink()
            guard let writer = try? TarWriter(sink: sink, compression: .none, modificationTime: 1_764_000_000) else { return [] }
            for entry in entries {
                try? entry.contents.withUnsafeBytes { try writer.addFile(path: entry.path, contents: $0) }
            }
            try? writer.close()
            return sink.bytes
        }

        /// A ListObjectsV2 page as S3 sends it, with escaped text, a nested owner and a token.
        static let listingPage = Array(#"""
            <?xml version="1.0" encoding="UTF-8"?>
            <ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Name>kessan-backups</Name><Prefix>pgseal/</Prefix><KeyCount>2</KeyCount><MaxKeys>1000</MaxKeys><IsTruncated>true</IsTruncated><Contents><Key>pgseal/kessan-user-data/2026/12/04/kessan-user-data-20261204T020000Z.tar.zst.age</Key><LastModified>2026-12-04T02:00:09.000Z</LastModified><ETag>&quot;0f343b0931126a20f133d67c2b018a3b-3&quot;</ETag><Size>12345678</Size><StorageClass>STANDARD</StorageClass><Owner><ID>abc</ID></Owner></Contents><Contents><Key>pgseal/a&amp;b &lt;c&gt;.seal</Key><Size>904</Size></Contents><NextContinuationToken>1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM=</NextContinuationToken></ListBucketResult>
            """#.utf8)
    }

    nonisolated(unsafe) static var shared: Corpus?

    static func corpus(for test: XCTestCase) throws -> Corpus {
        if let shared { return shared }
        let keys = try TemporaryDirectory()
        let store = try TemporaryDirectory()
        XCTAssertEqual(try PGSealCLI.run(["keygen", "--out", keys.path]).status, 0)
        // 20 users and the edge cases: small enough that a deep pass over a mutated archive
        // takes milliseconds, with every edge row in it.
        let server = try PostgresServer.shared()
        let database = server.url(database: try server.fixtureDatabase(users: 20, label: "fuzz", for: test))
        let exported = try PGSealCLI.run(["export", "--config", try ExportFixture.everythingConfig(in: keys), "--profile", "everything",
                                          "--db", database, "--to", store.path, "--chunk-size", "1",
                                          "--recipients-file", keys.file("age-recipient.txt"), "--sign-key", keys.file("signing-key"),
                                          "--progress", "never"])
        XCTAssertEqual(exported.status, 0, exported.err)
        let archive = exported.out.trimmingCharacters(in: .newlines)
        let work = store.file("x")
        let opened = try Command.run(["bash", "-c", "set -euo pipefail; mkdir -p \"$1\"; age -d -i \"$2\" \"$3\" | zstd -d > \"$1/plain.tar\"; cd \"$1\" && tar -xf plain.tar",
                                      "open", work, keys.file("age-identity.txt"), archive])
        XCTAssertEqual(opened.status, 0, opened.err)
        func bytes(_ path: String) throws -> [UInt8] { [UInt8](try Data(contentsOf: URL(fileURLWithPath: path))) }
        var corpus = Corpus()
        corpus.tar = try bytes(work + "/plain.tar")
        corpus.entries = try XCTUnwrap(Corpus.entries(of: corpus.tar))
        corpus.ordered = try XCTUnwrap(Corpus.ordered(corpus.tar))
        corpus.manifest = try bytes(work + "/manifest.json")
        corpus.tablesJSON = try bytes(work + "/tables.json")
        corpus.sealBytes = try bytes(archive + ".seal")
        corpus.seal = try SealDocument.decode(corpus.sealBytes)
        corpus.signature = try bytes(archive + ".seal.sig")
        corpus.allowedSigners = try bytes(keys.file("allowed_signers"))
        corpus.signers = try AllowedSigners.load(file: keys.file("allowed_signers"))
        corpus.ageFile = Array(try bytes(archive).prefix(70_000))
        corpus.identity = try AgeIdentity.load(file: keys.file("age-identity.txt"))[0]
        let definitions = try TableDefinitions.decode(corpus.tablesJSON)
        for table in definitions.tables { corpus.definitions[table.qualifiedName] = table }
        func columns(_ name: String) throws -> [ColumnSpec] {
            try XCTUnwrap(definitions.tables.first { $0.name == name }).columns.map {
                ColumnSpec(name: $0.name, encoding: try XCTUnwrap(ColumnEncoding(manifestName: $0.encoding)))
            }
        }
        func lines(_ table: String) throws -> [[UInt8]] {
            try String(contentsOfFile: work + "/data/public.\(table)/000001.jsonl", encoding: .utf8).split(separator: "\n").map { Array($0.utf8) }
        }
        corpus.columns = try columns("users")
        corpus.rows = Array(try lines("users").prefix(50))
        corpus.typedColumns = try columns("edge_values")
        corpus.typedRows = try lines("edge_values")
        XCTAssertGreaterThanOrEqual(corpus.typedRows.count, 6, "edge_values' rows")
        let vector = Repository.path("fixtures/format")
        let v1 = store.file("v1")
        let openedV1 = try Command.run(["bash", "-c", "set -euo pipefail; mkdir -p \"$1\"; cd \"$1\"; age -d -i \"$2/keys/age-identity.txt\" \"$2\"/vectors/pgseal-1/*.age | zstd -d | tar -x",
                                        "open", v1, vector])
        XCTAssertEqual(openedV1.status, 0, openedV1.err)
        let v1Table = try XCTUnwrap(try TableDefinitions.decode(try bytes(v1 + "/tables.json")).tables.first)
        corpus.v1Columns = try v1Table.columns.map { ColumnSpec(name: $0.name, encoding: try XCTUnwrap(ColumnEncoding(manifestName: $0.encoding))) }
        corpus.v1Rows = try String(contentsOfFile: v1 + "/data/public.encodings/000001.jsonl", encoding: .utf8).split(separator: "\n").map { Array($0.utf8) }
        XCTAssertEqual(Set(corpus.typedColumns.map { $0.encoding.description.split(separator: ":")[0] }).count, 8, "edge_values: a column of every encoding")
        let segments = store.file("segments")
        let openedSegments = try Command.run(["bash", "-c", """
            set -euo pipefail; n=0
            for segment in "$2"/vectors/changes-good/follow/changes/*/*/*/*.age; do
              n=$((n + 1)); mkdir -p "$1/$n"; age -d -i "$2/keys/age-identity.txt" "$segment" | zstd -d | tar -x -C "$1/$n"
            done
            cat "$1"/*/changes/*.jsonl > "$1/lines"; cp "$1/$n/tables.json" "$1/tables.json"
            """, "open", segments, vector])
        XCTAssertEqual(openedSegments.status, 0, openedSegments.err)
        for table in try TableDefinitions.decode(try bytes(segments + "/tables.json")).tables {
            let columns = try table.columnSpecs()
            corpus.changeTables[table.qualifiedName] = ChangeTable(name: table.qualifiedName, columns: columns,
                                                                   keyColumns: table.key.compactMap { key in columns.firstIndex { $0.name == key } })
        }
        corpus.changeDecoder = ChangeLineDecoder(tables: corpus.changeTables.mapValues { .init(columns: $0.columns, keyColumns: $0.keyColumns) })
        corpus.changeLines = try String(contentsOfFile: segments + "/lines", encoding: .utf8).split(separator: "\n").map { Array($0.utf8) }
        XCTAssertGreaterThanOrEqual(corpus.changeLines.count, 10, "changes-good's lines")
        shared = corpus
        return corpus
    }

    /// One reader of hostile bytes: it may throw, never trap, never hang.
    enum Target: String, CaseIterable {
        case row, everyType, v1Row, changeLine, archive, resealed, definitions, manifest, seal, age, signature, allowedSigners, listing

        func seed(_ corpus: Corpus, _ random: inout Mutator) -> [UInt8] {
            switch self {
            case .row: corpus.rows[random.below(corpus.rows.count)]
            case .everyType: corpus.typedRows[random.below(corpus.typedRows.count)]
            case .v1Row: corpus.v1Rows[random.below(corpus.v1Rows.count)]
            case .changeLine: corpus.changeLines[random.below(corpus.changeLines.count)]
            case .archive, .resealed: corpus.tar
            case .definitions: corpus.tablesJSON
            case .manifest: corpus.manifest
            case .seal: corpus.sealBytes
            case .age: corpus.ageFile
            case .signature: corpus.signature
            case .allowedSigners: corpus.allowedSigners
            case .listing: Corpus.listingPage
            }
        }

        var focus: Int? {
            switch self {
            case .age: 400
            case .archive: 4096
            default: nil
            }
        }

        /// The next input: the seed mutated as bytes — or, for half of the archive's inputs and
        /// all of the re-sealed ones, one entry mutated inside a valid tar, so that the mutation
        /// gets past the tar's headers to the rows, digests and manifest.
        func input(_ corpus: Corpus, _ mutator: inout Mutator) -> [UInt8] {
            switch self {
            case .archive where mutator.below(2) == 0, .resealed:
                var entries = corpus.ordered
                let candidates = entries.indices.filter { self == .archive || entries[$0].path.hasPrefix("data/") }
                let index = candidates[mutator.below(candidates.count)]
                entries[index].contents = mutator.mutate(entries[index].contents)
                return Corpus.tar(entries)
            default:
                return mutator.mutate(seed(corpus, &mutator), focus: focus)
            }
        }

        /// Runs the reader on `input`: rejected, or accepted and judged by the target's
        /// property (`property`) — or what the verdict got wrong. Surviving is the first
        /// property: a trap kills the process, and the watchdog a hang.
        func run(_ input: [UInt8], _ corpus: Corpus) -> Outcome {
            switch self {
            case .row: return Self.canonical(input, columns: corpus.columns)
            case .everyType: return Self.canonical(input, columns: corpus.typedColumns)
            case .v1Row: return Self.canonical(input, columns: corpus.v1Columns)
            case .changeLine: return Self.canonicalChange(input, corpus)
            case .archive:
                guard let tar = try? TarReader(source: MemorySource(input), limit: 64 << 20),
                      let report = try? Verifier.deepCheck(tar, seal: corpus.seal, limits: Self.limits), report.ok else { return .rejected }
                // Passed deep: every entry must be the sealed archive's, byte for byte.
                return Corpus.entries(of: input) == corpus.entries ? .judged : .violation("a tar whose entries changed passed the deep level")
            case .resealed:
                // The manifest's and the seal's counts and digests made to agree with the
                // mutated entries: only the rows themselves, their keys and the first and last
                // keys are left to judge them.
                guard let entries = Corpus.ordered(input), let (seal, manifest) = Self.resealed(entries, corpus) else { return .rejected }
                let rebuilt = Corpus.tar(entries.map { $0.path == "manifest.json" ? ($0.path, manifest) : $0 })
                guard let tar = try? TarReader(source: MemorySource(rebuilt), limit: 64 << 20),
                      let report = try? Verifier.deepCheck(tar, seal: seal, limits: Self.limits), report.ok else { return .rejected }
                // Passed deep: every row of every chunk is canonical under its table's columns.
                for entry in entries where entry.path.hasPrefix("data/") {
                    guard let table = ChunkPath.tableName(of: entry.path), let definition = corpus.definitions[table],
                          let columns = try? definition.columns.map({ column -> ColumnSpec in
                              guard let encoding = ColumnEncoding(manifestName: column.encoding) else { throw CancellationError() }
                              return ColumnSpec(name: column.name, encoding: encoding)
                          }) else { return .violation("deep passed a chunk of a table it cannot decode: \(entry.path)") }
                    for line in entry.contents.split(separator: UInt8(ascii: "\n")) {
                        switch Self.canonical(Array(line), columns: columns) {
                        case .violation(let problem): return .violation("deep passed \(entry.path): \(problem)")
                        case .rejected: return .violation("deep passed a row the decoder rejects in \(entry.path)")
                        case .judged, .survived: continue
                        }
                    }
                }
                return .judged
            case .definitions:
                _ = try? TableDefinitions.decode(input)
            case .manifest:
                _ = try? ArchiveManifest.decode(input)
                _ = try? FilesManifest.decode(input)
            case .seal:
                _ = try? SealDocument.decode(input)
                let verified = (try? SSHSignature.verify(String(decoding: corpus.signature, as: UTF8.self), message: input,
                                                         namespace: "pgseal", signers: corpus.signers)) != nil
                guard verified else { return .rejected }
                return input == corpus.sealBytes ? .judged : .violation("a changed seal verified")
            case .age:
                let keys = AgeKeyring(identities: [corpus.identity])
                if let source = try? AgeDecryptingSource(MemorySource(input), keys: keys) {
                    _ = try? source.forEachBlock(size: 64 * 1024) { _ in }
                }
            case .signature:
                _ = try? SSHSignature.verify(String(decoding: input, as: UTF8.self), message: corpus.sealBytes,
                                             namespace: "pgseal", signers: corpus.signers)
            case .listing:
                // S3's answers as every listing, upload and error reader takes them.
                _ = try? XMLAnswer.parse(input, record: "Contents", maxRecords: 10)
                _ = try? XMLAnswer.parse(input, record: "Error", maxRecords: 1)
            case .allowedSigners:
                var signers = AllowedSigners()
                try? signers.add(text: String(decoding: input, as: UTF8.self), origin: "fuzz")
                if let key = signers.entries.first?.key {
                    _ = signers.trust(key, namespace: "pgseal", principal: "nightly", at: Date())
                }
            }
            return .survived
        }

        static var limits: ReadLimits {
            var limits = ReadLimits()
            // The fixture's longest row (user_watchlist's BIG, 1 MiB of notes) must fit.
            limits.maxRowBytes = 4 << 20
            limits.plaintextFloor = 64 << 20
            return limits
        }

        /// A row the decoder accepts must be canonical: its values encoded again are its bytes.
        static func canonical(_ input: [UInt8], columns: [ColumnSpec]) -> Outcome {
            let decoder = RowDecoder(columns: columns)
            let out = ByteBuffer(capacity: 1024)
            return input.withUnsafeBytes { line -> Outcome in
                var ranges = [Range<Int>](repeating: 0..<0, count: 2)
                _ = try? RowDecoder.memberRanges(of: line, memberCount: columns.count, indexes: [0, min(1, columns.count - 1)], into: &ranges)
                guard (try? decoder.decode(line: line, into: out)) != nil else { return .rejected }
                let copyLine = UnsafeRawBufferPointer(start: out.base, count: max(0, out.count - 1))
                let again = ByteBuffer(capacity: 1024)
                guard let range = try? RowEncoder(columns: columns, keyColumnIndexes: []).encode(copyLine: copyLine, into: again) else {
                    return .violation("an accepted row whose values do not encode again")
                }
                return again.bytes(range).elementsEqual(line) ? .judged : .violation("an accepted row that is not canonical: \(String(decoding: input, as: UTF8.self))")
            }
        }

        /// A change line the replay accepts (the decoder, and a stamp spelled as the follower
        /// writes it) must be canonical: written again from what was read, it is its bytes.
        static func canonicalChange(_ input: [UInt8], _ corpus: Corpus) -> Outcome {
            let decoded = input.withUnsafeBytes { try? corpus.changeDecoder.decode($0) }
            guard let change = decoded, let stamp = CommitStamp(lsn: change.lsn, xid: change.xid, committedAt: change.committedAt) else { return .rejected }
            let out = ByteBuffer(capacity: 1024)
            if change.operation == .truncate {
                ChangeLine.appendTruncate(of: change.tables, stamp: stamp, to: out)
            } else {
                guard let table = corpus.changeTables[change.table], let operation = RowChange.Operation(rawValue: change.operation.rawValue) else {
                    return .violation("accepted a line of a table the segment does not define")
                }
                func tuple(_ value: String?) -> PgOutputMessage.TupleValue { value.map { .text(Array($0.utf8)) } ?? .null }
                // A key as pgoutput sends it: a row with only the key's columns.
                func keyRow(_ key: [String?]) -> [PgOutputMessage.TupleValue] {
                    var values = [PgOutputMessage.TupleValue](repeating: .null, count: table.columns.count)
                    for (position, index) in table.keyColumns.enumerated() where position < key.count { values[index] = tuple(key[position]) }
                    return values
                }
                let row = change.row.map { $0.map { $0.map(tuple) ?? .unchangedToast } }
                let oldKey = change.operation == .delete ? keyRow(change.key) : change.oldKey.map(keyRow)
                do {
                    try ChangeLine.append(RowChange(operation: operation, table: change.table, row: row, oldKey: oldKey), of: table, stamp: stamp, to: out)
                } catch {
                    return .violation("an accepted line that does not encode again (\(error)): \(String(decoding: input, as: UTF8.self))")
                }
            }
            return out.bytes.elementsEqual(input) ? .judged : .violation("an accepted change line that is not canonical: \(String(decoding: input, as: UTF8.self))")
        }

        /// The corpus's seal and manifest with every chunk's size, SHA-256 and rows and every
        /// table's rows, bytes and digest recomputed from `entries`, and that manifest; nil when
        /// the manifest is not one (a mutated manifest is the archive target's).
        static func resealed(_ entries: [(path: String, contents: [UInt8])], _ corpus: Corpus) -> (SealDocument, [UInt8])? {
            let contents = Dictionary(entries.map { ($0.path, $0.contents) }, uniquingKeysWith: { first, _ in first })
            guard let manifestBytes = contents["manifest.json"],
                  var manifest = (try? JSONSerialization.jsonObject(with: Data(manifestBytes))) as? [String: Any],
                  var tables = manifest["tables"] as? [[String: Any]] else { return nil }
            var seal = corpus.seal!
            for (index, table) in tables.enumerated() {
                guard var chunks = table["chunks"] as? [[String: Any]] else { return nil }
                var hashes: [String] = []
                for (position, chunk) in chunks.enumerated() {
                    guard let path = chunk["path"] as? String, let data = contents[path] else { continue }
                    let lines = data.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false).dropLast()
                    hashes += lines.map { SHA256Hasher.hash($0).hex }
                    chunks[position]["bytes"] = data.count
                    chunks[position]["sha256"] = SHA256Hasher.hash(data).hex
                    chunks[position]["rows"] = lines.count
                }
                let digest = SHA256Hasher.hash(Array(hashes.map { $0 + "\n" }.joined().utf8)).hex
                tables[index]["chunks"] = chunks
                tables[index]["rows"] = hashes.count
                tables[index]["digest"] = digest
                let name = "\(table["schema"] as? String ?? "").\(table["name"] as? String ?? "")"
                if let sealed = seal.tables.firstIndex(where: { $0.name == name }) {
                    seal.tables[sealed].rows = hashes.count
                    seal.tables[sealed].digest = digest
                }
            }
            manifest["tables"] = tables
            guard let rewritten = try? JSONSerialization.data(withJSONObject: manifest, options: [.sortedKeys]) else { return nil }
            seal.manifestSHA256 = SHA256Hasher.hash(Array(rewritten)).hex
            return (seal, Array(rewritten))
        }

        /// The verdict this target checks on every input it accepts, beyond surviving; nil for
        /// the targets that only have to survive.
        var property: String? {
            switch self {
            case .row, .everyType, .v1Row: "accepted rows are canonical"
            case .changeLine: "accepted change lines are canonical"
            case .archive: "deep passes only the sealed entries"
            case .resealed: "deep passes only canonical rows under agreeing counts and digests"
            case .seal: "a changed seal never verifies"
            default: nil
            }
        }
    }

    enum Outcome {
        /// The reader refused the input (the property had nothing to judge).
        case rejected
        /// The reader accepted it and the property held.
        case judged
        /// The reader ran to its end; no property beyond surviving.
        case survived
        case violation(String)
    }

    /// Mutations that find parser bugs: bit flips, interesting bytes, JSON and tar tokens,
    /// deletions, duplications, splices and truncations; seeded, so a run can be replayed.
    struct Mutator {
        var state: UInt64

        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }

        mutating func below(_ n: Int) -> Int { n <= 1 ? 0 : Int(next() % UInt64(n)) }

        static let tokens: [[UInt8]] = ["\\ud800", "\\udc00", "\\u0000", "\"", "\\", "{", "}", "[", "]", ",", ":", "null",
                                        "-0", "1e999999999", "99999999999999999999", "\n", "\u{1b}[2J", "\u{FF}", "\u{C0}\u{80}",
                                        "ustar\0", "00000000000", "77777777777", "-infinity", "294277-01-01T00:00:00Z",
                                        "<Contents>", "</Contents>", "<Key>", "</Key>", "<![CDATA[", "]]>", "&amp;", "&#0;", "<!DOCTYPE x [<!ENTITY a \"b\">]>"].map { Array($0.utf8) }

        /// `focus`: half of the mutations land in the first `focus` bytes (an age header, the
        /// first tar headers and tables.json), where the parsers are.
        mutating func mutate(_ seed: [UInt8], focus: Int? = nil) -> [UInt8] {
            var bytes = seed
            for _ in 0...below(4) {
                let at = focus.map { below(2) == 0 ? below(min($0, bytes.count) + 1) : below(bytes.count + 1) } ?? below(bytes.count + 1)
                switch below(8) {
                case 0 where !bytes.isEmpty: bytes[min(at, bytes.count - 1)] ^= UInt8(1 << below(8))
                case 1 where !bytes.isEmpty: bytes[min(at, bytes.count - 1)] = [0x00, 0xFF, 0x7F, 0x80, 0x0A, 0x22, 0x5C][below(7)]
                case 2: bytes.insert(contentsOf: Self.tokens[below(Self.tokens.count)], at: at)
                case 3 where !bytes.isEmpty: bytes.removeSubrange(at..<min(bytes.count, at + 1 + below(64)))
                case 4 where !bytes.isEmpty:
                    let end = min(bytes.count, at + 1 + below(512))
                    bytes.insert(contentsOf: Array(bytes[min(at, bytes.count - 1)..<end]), at: below(bytes.count + 1))
                case 5: bytes = Array(bytes.prefix(at))
                case 6 where !bytes.isEmpty:
                    // A tar header field or a digit run rewritten: sizes and counts out of range.
                    let end = min(bytes.count, at + 12)
                    for i in min(at, bytes.count - 1)..<end { bytes[i] = UInt8(ascii: "7") }
                default: bytes.insert(contentsOf: Array(repeating: Self.tokens[below(Self.tokens.count)].first ?? 0x5B, count: 1 + below(2048)), at: at)
                }
            }
            return bytes
        }
    }

    static var regressions: String { Repository.path("Tests/EndToEndTests/FuzzRegressions") }

    /// Ends the process when one input runs past `limit`: a hang is a failure like a trap, and
    /// `make fuzz` keeps the input that caused it (written before each run).
    final class Watchdog: @unchecked Sendable {
        private let lock = NSLock()
        private var current: (target: String, started: Date, input: [UInt8])?
        let limit: TimeInterval

        init(limit: TimeInterval) {
            self.limit = limit
            let thread = Thread { [weak self] in
                while let self {
                    Thread.sleep(forTimeInterval: 0.25)
                    self.check()
                }
            }
            thread.start()
        }

        func begin(_ target: String, _ input: [UInt8]) { lock.withLock { current = (target, Date(), input) } }
        func end() { lock.withLock { current = nil } }

        private func check() {
            guard let (target, started, input) = lock.withLock({ current }), Date().timeIntervalSince(started) > limit else { return }
            let path = NSTemporaryDirectory() + "pgseal-fuzz-hang-\(target)"
            try? Data(input).write(to: URL(fileURLWithPath: path))
            FileHandle.standardError.write(Data("fuzz: target \(target): one input ran past \(String(format: "%g", limit)) s — a hang; the input is \(path)\n".utf8))
            exit(3)
        }
    }

    func testEveryReaderSurvivesMutatedInput() throws {
        let corpus = try Self.corpus(for: self)
        let environment = ProcessInfo.processInfo.environment
        let seconds = environment["PGSEAL_FUZZ_SECONDS"].flatMap(Double.init)
        let iterations = environment["PGSEAL_FUZZ_ITERATIONS"].flatMap(Int.init) ?? 300
        let seed = environment["PGSEAL_FUZZ_SEED"].flatMap(UInt64.init) ?? 20261202
        let candidates = environment["PGSEAL_FUZZ_CRASH_DIR"]
        let watchdog = Watchdog(limit: environment["PGSEAL_FUZZ_INPUT_SECONDS"].flatMap(Double.init) ?? 20)
        var summary: [String] = []
        var violations: [String] = []
        // PGSEAL_FUZZ_TARGETS=listing,row narrows a run to some targets (make fuzz: all).
        let only = environment["PGSEAL_FUZZ_TARGETS"].map { Set($0.split(separator: ",").map(String.init)) }
        for target in Target.allCases where only?.contains(target.rawValue) ?? true {
            // The property can be reached: the unmutated seed is accepted and judged.
            if let property = target.property {
                var unmutated = Mutator(state: seed)
                if case .judged = target.run(target.seed(corpus, &unmutated), corpus) {} else {
                    XCTFail("\(target.rawValue): the unmutated seed is not accepted, so the property \"\(property)\" would judge nothing")
                }
            }
            let violationsBefore = violations.count
            // Inputs that once crashed a reader, first.
            let names = (try? FileManager.default.contentsOfDirectory(atPath: Self.regressions)) ?? []
            for name in names.sorted() where name.hasPrefix(target.rawValue + "-") {
                let input = [UInt8](try Data(contentsOf: URL(fileURLWithPath: Self.regressions + "/" + name)))
                watchdog.begin(target.rawValue, input)
                if case .violation(let problem) = target.run(input, corpus) { violations.append("\(name): \(problem)") }
                watchdog.end()
            }
            // String.hashValue differs per process: a stable sum keeps runs replayable by seed.
            var mutator = Mutator(state: seed &+ target.rawValue.utf8.reduce(UInt64(0)) { $0 &* 31 &+ UInt64($1) })
            let started = Date()
            var runs = 0
            var judged = 0
            var slowest = 0.0
            while seconds.map({ Date().timeIntervalSince(started) < $0 }) ?? (runs < iterations) {
                let input = target.input(corpus, &mutator)
                if let candidates {
                    // Left behind only if this input kills the process: make fuzz keeps it.
                    try Data(input).write(to: URL(fileURLWithPath: candidates + "/" + target.rawValue))
                }
                let one = Date()
                watchdog.begin(target.rawValue, input)
                switch target.run(input, corpus) {
                case .violation(let problem):
                    violations.append("\(target.rawValue): \(problem)")
                    try? Data(input).write(to: URL(fileURLWithPath: NSTemporaryDirectory() + "pgseal-fuzz-violation-\(target.rawValue)"))
                case .judged: judged += 1
                case .rejected, .survived: break
                }
                watchdog.end()
                slowest = max(slowest, Date().timeIntervalSince(one))
                runs += 1
            }
            XCTAssertLessThan(slowest, 5, "\(target.rawValue): one input took \(slowest) s")
            let broken = violations.count - violationsBefore
            let verdict = target.property.map { broken > 0 ? "property \"\($0)\" BROKEN by \(broken) input(s), \(judged) held" : "property \"\($0)\" held, \(judged) accepted and judged" }
                ?? "property \"no trap, no hang\" held"
            summary.append("fuzz: \(target.rawValue): \(runs) inputs in \(String(format: "%.1f", Date().timeIntervalSince(started))) s, \(verdict), slowest \(String(format: "%.3f", slowest)) s")
        }
        if let candidates { try? FileManager.default.removeItem(atPath: candidates) }
        print("fuzz: seed \(seed) (PGSEAL_FUZZ_SEED to replay)\n" + summary.joined(separator: "\n"))
        XCTAssertEqual(violations, [], "verdicts broken (the inputs are in \(NSTemporaryDirectory())pgseal-fuzz-violation-*):\n" + violations.prefix(20).joined(separator: "\n"))
    }
}
