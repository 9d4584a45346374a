import ArchiveFormat
import ArchiveReading
import CanonicalJSON
import Cryptography
import Foundation
import ObjectStore
import TestSupport
import Verify
import XCTest

/// A bounded mutation fuzzer over every reader of hostile bytes: rows, whole tar streams through
/// the deep checks, manifests and table definitions, seals, age headers, SSH signatures and
/// allowed_signers files. Seeds come from a real export of the fixture. `make test` runs a short
/// pass (PGSEAL_FUZZ_ITERATIONS, default 300 per target); `make fuzz` runs each target for
/// PGSEAL_FUZZ_SECONDS and keeps the input of a crash in Tests/EndToEndTests/FuzzRegressions,
/// which every run replays first. A trap kills the test process: that is the failure.
final class FuzzTests: XCTestCase {
    /// What the readers are fed, from one export.
    struct Corpus {
        var rows: [[UInt8]] = []
        var columns: [ColumnSpec] = []
        var tar: [UInt8] = []
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

        /// A tar's entries by path, nil when it cannot be read whole.
        static func entries(of tar: [UInt8]) -> [String: [UInt8]]? {
            guard let reader = try? TarReader(source: MemorySource(tar), limit: 64 << 20) else { return nil }
            var entries: [String: [UInt8]] = [:]
            while let entry = try? reader.nextEntry() {
                guard let contents = try? reader.readAll(entry, limit: 64 << 20) else { return nil }
                entries[entry.path] = contents
            }
            return entries
        }

        /// A ListObjectsV2 page as S3 sends it, with escaped text, a nested owner and a token.
        static let listingPage = Array(#"""
            <?xml version="1.0" encoding="UTF-8"?>
            <ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Name>kessan-backups</Name><Prefix>pgseal/</Prefix><KeyCount>2</KeyCount><MaxKeys>1000</MaxKeys><IsTruncated>true</IsTruncated><Contents><Key>pgseal/kessan-user-data/2026/12/04/kessan-user-data-20261204T020000Z.tar.zst.age</Key><LastModified>2026-12-04T02:00:09.000Z</LastModified><ETag>&quot;0f343b0931126a20f133d67c2b018a3b-3&quot;</ETag><Size>12345678</Size><StorageClass>STANDARD</StorageClass><Owner><ID>abc</ID></Owner></Contents><Contents><Key>pgseal/a&amp;b &lt;c&gt;.seal</Key><Size>904</Size></Contents><NextContinuationToken>1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM=</NextContinuationToken></ListBucketResult>
            """#.utf8)
    }

    nonisolated(unsafe) static var shared: Corpus?

    static func corpus() throws -> Corpus {
        if let shared { return shared }
        let keys = try TemporaryDirectory()
        let store = try TemporaryDirectory()
        XCTAssertEqual(try PGSealCLI.run(["keygen", "--out", keys.path]).status, 0)
        let exported = try PGSealCLI.run(["export", "--profile", "kessan-user-data", "--db", try ExportFixture.url(), "--to", store.path, "--chunk-size", "1",
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
        let edge = try XCTUnwrap(definitions.tables.first { $0.name == "users" })
        corpus.columns = try edge.columns.map { ColumnSpec(name: $0.name, encoding: try XCTUnwrap(ColumnEncoding(manifestName: $0.encoding))) }
        let lines = try String(contentsOfFile: work + "/data/public.users/000001.jsonl", encoding: .utf8).split(separator: "\n")
        corpus.rows = lines.prefix(50).map { Array($0.utf8) }
        shared = corpus
        return corpus
    }

    /// One reader of hostile bytes: it may throw, never trap, never hang.
    enum Target: String, CaseIterable {
        case row, archive, definitions, manifest, seal, age, signature, allowedSigners, listing

        func seed(_ corpus: Corpus, _ random: inout Mutator) -> [UInt8] {
            switch self {
            case .row: corpus.rows[random.below(corpus.rows.count)]
            case .archive: corpus.tar
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

        /// Runs the reader on `input`; returns what it got wrong — a property a verdict must
        /// keep — or nil. Surviving is the first property: a trap kills the process.
        func run(_ input: [UInt8], _ corpus: Corpus) -> String? {
            switch self {
            case .row:
                let decoder = RowDecoder(columns: corpus.columns)
                let out = ByteBuffer(capacity: 1024)
                return input.withUnsafeBytes { line -> String? in
                    var ranges = [Range<Int>](repeating: 0..<0, count: 2)
                    _ = try? RowDecoder.memberRanges(of: line, memberCount: corpus.columns.count, indexes: [0, 3], into: &ranges)
                    guard (try? decoder.decode(line: line, into: out)) != nil else { return nil }
                    // Accepted: the row is canonical, so its values encoded again are its bytes.
                    let copyLine = UnsafeRawBufferPointer(start: out.base, count: max(0, out.count - 1))
                    let again = ByteBuffer(capacity: 1024)
                    guard let range = try? RowEncoder(columns: corpus.columns, keyColumnIndexes: []).encode(copyLine: copyLine, into: again) else {
                        return "an accepted row whose values do not encode again"
                    }
                    return again.bytes(range).elementsEqual(line) ? nil : "an accepted row that is not canonical: \(String(decoding: input, as: UTF8.self))"
                }
            case .archive:
                var limits = ReadLimits()
                limits.maxRowBytes = 1 << 20
                limits.plaintextFloor = 64 << 20
                guard let tar = try? TarReader(source: MemorySource(input), limit: 64 << 20),
                      let report = try? Verifier.deepCheck(tar, seal: corpus.seal, limits: limits), report.ok else { return nil }
                // Passed deep: every entry must be the sealed archive's, byte for byte.
                return Corpus.entries(of: input) == corpus.entries ? nil : "a tar whose entries changed passed the deep level"
            case .definitions:
                _ = try? TableDefinitions.decode(input)
            case .manifest:
                _ = try? ArchiveManifest.decode(input)
                _ = try? FilesManifest.decode(input)
            case .seal:
                _ = try? SealDocument.decode(input)
                let verified = (try? SSHSignature.verify(String(decoding: corpus.signature, as: UTF8.self), message: input,
                                                         namespace: "pgseal", signers: corpus.signers)) != nil
                return verified && input != corpus.sealBytes ? "a changed seal verified" : nil
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
            return nil
        }

        /// The verdict this target checks beyond surviving, for the summary.
        var property: String? {
            switch self {
            case .row: "accepted rows are canonical"
            case .archive: "deep passes only the sealed entries"
            case .seal: "a changed seal never verifies"
            default: nil
            }
        }
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

    func testEveryReaderSurvivesMutatedInput() throws {
        let corpus = try Self.corpus()
        let environment = ProcessInfo.processInfo.environment
        let seconds = environment["PGSEAL_FUZZ_SECONDS"].flatMap(Double.init)
        let iterations = environment["PGSEAL_FUZZ_ITERATIONS"].flatMap(Int.init) ?? 300
        let seed = environment["PGSEAL_FUZZ_SEED"].flatMap(UInt64.init) ?? 20261202
        let candidates = environment["PGSEAL_FUZZ_CRASH_DIR"]
        var summary: [String] = []
        var violations: [String] = []
        // PGSEAL_FUZZ_TARGETS=listing,row narrows a run to some targets (make fuzz: all).
        let only = environment["PGSEAL_FUZZ_TARGETS"].map { Set($0.split(separator: ",").map(String.init)) }
        for target in Target.allCases where only?.contains(target.rawValue) ?? true {
            // Inputs that once crashed a reader, first.
            let names = (try? FileManager.default.contentsOfDirectory(atPath: Self.regressions)) ?? []
            for name in names.sorted() where name.hasPrefix(target.rawValue + "-") {
                if let violation = target.run([UInt8](try Data(contentsOf: URL(fileURLWithPath: Self.regressions + "/" + name))), corpus) {
                    violations.append("\(name): \(violation)")
                }
            }
            // String.hashValue differs per process: a stable sum keeps runs replayable by seed.
            var mutator = Mutator(state: seed &+ target.rawValue.utf8.reduce(UInt64(0)) { $0 &* 31 &+ UInt64($1) })
            let started = Date()
            var runs = 0
            var slowest = 0.0
            while seconds.map({ Date().timeIntervalSince(started) < $0 }) ?? (runs < iterations) {
                let input = mutator.mutate(target.seed(corpus, &mutator), focus: target.focus)
                if let candidates {
                    // Left behind only if this input kills the process: make fuzz keeps it.
                    try Data(input).write(to: URL(fileURLWithPath: candidates + "/" + target.rawValue))
                }
                let one = Date()
                if let violation = target.run(input, corpus) {
                    violations.append("\(target.rawValue): \(violation)")
                    try? Data(input).write(to: URL(fileURLWithPath: NSTemporaryDirectory() + "pgseal-fuzz-violation-\(target.rawValue)"))
                }
                slowest = max(slowest, Date().timeIntervalSince(one))
                runs += 1
            }
            XCTAssertLessThan(slowest, 5, "\(target.rawValue): one input took \(slowest) s")
            summary.append("\(target.rawValue) \(runs) runs\(target.property.map { " (\($0): checked)" } ?? ""), slowest \(String(format: "%.3f", slowest)) s")
        }
        if let candidates { try? FileManager.default.removeItem(atPath: candidates) }
        print("fuzz (seed \(seed), PGSEAL_FUZZ_SEED to replay): " + summary.joined(separator: "; "))
        XCTAssertEqual(violations, [], "verdicts broken (the inputs are in \(NSTemporaryDirectory())pgseal-fuzz-violation-*):\n" + violations.prefix(20).joined(separator: "\n"))
    }
}
