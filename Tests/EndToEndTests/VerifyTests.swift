import Cryptography
import Foundation
import TestSupport
import XCTest

/// The corruption matrix: a small sealed archive damaged in every way we can think of; each
/// case must fail with exit 1 and name the place, and the untouched archive must pass.
final class VerifyTests: XCTestCase {
    var keys: TemporaryDirectory!
    var store: TemporaryDirectory!
    var archive: String!

    override func setUpWithError() throws {
        keys = try TemporaryDirectory()
        store = try TemporaryDirectory()
        XCTAssertEqual(try PGSealCLI.run(["keygen", "--out", keys.path]).status, 0)
        let result = try PGSealCLI.run(["export", "--profile", "kessan-user-data", "--db", try ExportFixture.url(), "--to", store.path, "--chunk-size", "1",
                                        "--recipients-file", keys.file("age-recipient.txt"), "--sign-key", keys.file("signing-key")])
        XCTAssertEqual(result.status, 0, result.err)
        archive = result.out.trimmingCharacters(in: .newlines)
    }

    func verify(_ path: String, level: String, identity: Bool = true) throws -> CommandResult {
        try PGSealCLI.run(["verify", path, "--level", level, "--trusted-key", keys.file("allowed_signers")]
                          + (identity ? ["-i", keys.file("age-identity.txt")] : []))
    }

    /// A copy of the archive and its sidecars under a new directory, with `change` applied to the object.
    func damagedCopy(_ label: String, _ change: (inout [UInt8]) -> Void) throws -> String {
        let directory = store.file("case-\(label)")
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let copy = directory + "/" + (archive as NSString).lastPathComponent
        var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: archive)))
        change(&bytes)
        FileManager.default.createFile(atPath: copy, contents: Data(bytes))
        for suffix in [".sha256", ".seal", ".seal.sig"] {
            try FileManager.default.copyItem(atPath: archive + suffix, toPath: copy + suffix)
        }
        return copy
    }

    func expectFailure(_ result: CommandResult, _ fragments: [String], file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(result.status, 1, result.out + result.err, file: file, line: line)
        for fragment in fragments {
            XCTAssertTrue(result.out.contains(fragment), "expected «\(fragment)» in the report: \(result.out)\(result.err)", file: file, line: line)
        }
    }

    func testTheUntouchedArchivePassesBothLevels() throws {
        let seal = try verify(archive, level: "seal", identity: false)
        XCTAssertEqual(seal.status, 0, seal.err)
        let deep = try verify(archive, level: "deep")
        XCTAssertEqual(deep.status, 0, deep.err)
        XCTAssertTrue(deep.out.contains("public.user_watchlist: 10004 rows, ") && deep.out.contains("digest ok"), deep.out + deep.err)
        let report = try PGSealCLI.run(["verify", archive, "--trusted-key", keys.file("allowed_signers"), "-i", keys.file("age-identity.txt"),
                                        "--report", store.file("report.json")])
        XCTAssertEqual(report.status, 0)
        let json = try JSONDocument(file: store.file("report.json"))
        XCTAssertEqual(json["ok"].value as? Bool, true)
        XCTAssertEqual(try json["level"].string(), "deep")
    }

    func testAFlippedByteAnywhereIsFoundAtBothLevels() throws {
        let size = try fileSize(archive)
        let positions = [0, 25, 60, 120, 200, 260, 300, 1000, 65_600, 100_000, size / 2, size - 100, size - 17, size - 1]
        for position in positions where position < size {
            let copy = try damagedCopy("flip-\(position)") { $0[position] ^= 0x20 }
            expectFailure(try verify(copy, level: "seal", identity: false), ["object: SHA-256"])
            let deep = try verify(copy, level: "deep")
            expectFailure(deep, ["object: SHA-256"])
            // Beyond the object's mismatch, the layer that met the altered byte is named on a
            // failure line of its own ("  age: …", "  tar: …") or as a key that no longer matches;
            // the archive's path (which ends in .age) does not count.
            let lines = deep.out.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
            XCTAssertTrue(lines.contains { $0.hasPrefix("age: ") || $0.hasPrefix("tar: ") || $0.hasPrefix("data/") || $0.hasPrefix("tables.json") },
                          "position \(position): \(deep.out)\(deep.err)")
        }
    }

    func testTruncationIsFound() throws {
        let size = try fileSize(archive)
        for length in [0, 10, 300, 65_552, size / 2, size - 1] {
            let copy = try damagedCopy("cut-\(length)") { $0 = Array($0.prefix(length)) }
            expectFailure(try verify(copy, level: "seal", identity: false), ["object: \(length) bytes, the seal says \(size)"])
            expectFailure(try verify(copy, level: "deep"), ["object: \(length) bytes"])
        }
    }

    func testMissingOrUntrustedSealsAreNotArchives() throws {
        let noSeal = try damagedCopy("no-seal") { _ in }
        try FileManager.default.removeItem(atPath: noSeal + ".seal")
        expectFailure(try verify(noSeal, level: "seal", identity: false), ["seal:", "is missing"])

        let noSignature = try damagedCopy("no-sig") { _ in }
        try FileManager.default.removeItem(atPath: noSignature + ".seal.sig")
        expectFailure(try verify(noSignature, level: "seal", identity: false), ["seal.sig:", "is missing"])

        let strangerKeys = try TemporaryDirectory()
        XCTAssertEqual(try PGSealCLI.run(["keygen", "--out", strangerKeys.path]).status, 0)
        let untrusted = try damagedCopy("untrusted") { _ in }
        let sealBytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: untrusted + ".seal")))
        let forged = try SSHSignature.sign(sealBytes, namespace: "pgseal", key: try SSHSigningKey.load(file: strangerKeys.file("signing-key")))
        try forged.write(toFile: untrusted + ".seal.sig", atomically: true, encoding: .utf8)
        expectFailure(try verify(untrusted, level: "seal", identity: false), ["seal.sig:", "not a trusted signer"])

        let edited = try damagedCopy("edited-seal") { _ in }
        let text = try String(contentsOfFile: edited + ".seal", encoding: .utf8)
        try text.replacingOccurrences(of: "\"rows\" : 1802", with: "\"rows\" : 1803").write(toFile: edited + ".seal", atomically: true, encoding: .utf8)
        expectFailure(try verify(edited, level: "seal", identity: false), ["seal.sig:", "does not match the signed file"])
    }

    /// Rebuilds the archive from a changed tar, re-encrypted and re-signed with the trusted key
    /// (an insider with the signing key, or a buggy exporter): the seal level passes, the deep
    /// level must not.
    func rebuilt(_ label: String, resealManifest: Bool = false, _ edit: String) throws -> String {
        let copy = try damagedCopy(label) { _ in }
        let work = store.file("work-\(label)")
        let script = """
            set -euo pipefail
            mkdir -p "$1" && cd "$1"
            age -d -i "$3/age-identity.txt" "$2" | zstd -d | tar -x
            \(edit)
            entries=$(find data -type f | sort)
            tar --format=pax -c tables.json $entries manifest.json | zstd -q -3 | age -R "$3/age-recipient.txt" > "$2"
            """
        let result = try Command.run(["bash", "-c", script, "rebuild", work, copy, keys.path])
        XCTAssertEqual(result.status, 0, result.err)
        try Tampering.reseal(copy, work: work, keys: keys.path, manifest: resealManifest)
        XCTAssertEqual(try verify(copy, level: "seal", identity: false).status, 0, "the re-signed seal must pass the seal level")
        return copy
    }

    /// diff reads the database in a read-only transaction with a statement timeout of 1 h
    /// (docs/CLI.md, "pgseal diff"): a signed archive whose users filter also requires both
    /// finds every row; the same filter asking for another timeout finds none of them.
    func testDiffRunsTheArchivesFiltersReadOnlyWithItsStatementTimeout() throws {
        func filtered(_ label: String, timeout: String) throws -> String {
            let filter = "is_active AND current_setting('transaction_read_only') = 'on' AND current_setting('statement_timeout') = '\(timeout)'"
            return try rebuilt(label, resealManifest: true, """
                for f in manifest.json tables.json; do
                  python3 -c 'import json, sys; d = json.load(open(sys.argv[1])); [t.update(filter=sys.argv[2]) for t in d["tables"] if t["name"] == "users"]; json.dump(d, open(sys.argv[1], "w"))' "$f" "\(filter)"
                done
                """)
        }
        func diff(_ path: String) throws -> CommandResult {
            try PGSealCLI.run(["diff", path, "--db", try ExportFixture.url(), "-i", keys.file("age-identity.txt"),
                               "--trusted-key", keys.file("allowed_signers"), "--json"])
        }
        let same = try diff(try filtered("read-only", timeout: "1h"))
        XCTAssertEqual(same.status, 0, same.out + same.err)
        let other = try diff(try filtered("other-timeout", timeout: "2h"))
        XCTAssertEqual(other.status, 1, other.err)
        let users = try JSONDocument(data: other.stdout)["tables"].array().first { try $0["name"].string() == "public.users" }
        XCTAssertGreaterThan(try XCTUnwrap(users)["only_in_archive"].int(), 0, other.out)
    }

    func testContentChangesBehindAValidSealAreFoundByTheDeepLevel() throws {
        // (Chunk 1 holds only the 1 MiB edge-case row: it is larger than the 1 MiB chunk size.)
        let firstWatchlist = "data/public.user_watchlist/000002.jsonl"
        let duplicated = try rebuilt("duplicate-row", "head -1 \(firstWatchlist) >> \(firstWatchlist)")
        expectFailure(try verify(duplicated, level: "deep"), [firstWatchlist, "differs from the manifest"])

        let swapped = try rebuilt("swap-rows", "{ sed -n 2p \(firstWatchlist); sed -n 1p \(firstWatchlist); sed -n '3,$p' \(firstWatchlist); } > x && mv x \(firstWatchlist)")
        expectFailure(try verify(swapped, level: "deep"), [firstWatchlist, "differs from the manifest"])

        let dropped = try rebuilt("drop-chunk", "rm data/public.user_watchlist/000003.jsonl")
        expectFailure(try verify(dropped, level: "deep"), ["data/public.user_watchlist/000003.jsonl"])

        let badJSON = try rebuilt("bad-json", "sed -i '5s/}$/,}/' data/public.users/000001.jsonl")
        expectFailure(try verify(badJSON, level: "deep"), ["data/public.users/000001.jsonl:5: not valid JSON"])

        let manifest = try rebuilt("manifest", "sed -i 's/\"rows\": 1802/\"rows\": 1801/' manifest.json")
        expectFailure(try verify(manifest, level: "deep"), ["manifest.json", "differs from the seal's"])

        let consistentForgery = try rebuilt("manifest-resealed", resealManifest: true, "sed -i 's/\"rows\": 1802/\"rows\": 1801/' manifest.json")
        expectFailure(try verify(consistentForgery, level: "deep"), ["table public.users", "1802 rows"])
    }

    /// The independent reader (scripts/reference_reader.py: FORMAT.md, Python's standard
    /// library, ssh-keygen, age, zstd) and pgseal's deep level reach the same verdict on the
    /// untouched archive and on each way it is damaged here — and each names the same place.
    func testTheReferenceReaderAndTheDeepLevelAgree() throws {
        let watchlist = "data/public.user_watchlist/000002.jsonl"
        let cases: [(label: String, path: String, place: String?)] = [
            ("untouched", archive, nil),
            ("duplicate-row", try rebuilt("ref-duplicate", "head -1 \(watchlist) >> \(watchlist)"), watchlist),
            ("swapped-rows", try rebuilt("ref-swap", "{ sed -n 2p \(watchlist); sed -n 1p \(watchlist); sed -n '3,$p' \(watchlist); } > x && mv x \(watchlist)"), watchlist),
            ("dropped-chunk", try rebuilt("ref-drop", "rm data/public.user_watchlist/000003.jsonl"), "data/public.user_watchlist/000003.jsonl"),
            ("bad-json", try rebuilt("ref-json", "sed -i '5s/}$/,}/' data/public.users/000001.jsonl"), "data/public.users/000001.jsonl"),
            ("resealed-count", try rebuilt("ref-count", resealManifest: true, "sed -i 's/\"rows\": 1802/\"rows\": 1801/' manifest.json"), "public.users"),
            ("flipped-byte", try damagedCopy("ref-flip") { $0[$0.count / 2] ^= 0x20 }, nil),
        ]
        for (label, path, place) in cases {
            let pgseal = try verify(path, level: "deep")
            let reference = try Command.run(["python3", Repository.path("scripts/reference_reader.py"), path,
                                             "--allowed-signers", keys.file("allowed_signers"), "--identity", keys.file("age-identity.txt")])
            XCTAssertEqual(reference.status, pgseal.status, "\(label): the readers disagree — pgseal: \(pgseal.out)\(pgseal.err) reference: \(reference.out)\(reference.err)")
            XCTAssertEqual(reference.status, label == "untouched" ? 0 : 1, "\(label): \(reference.out)\(reference.err)")
            if let place {
                XCTAssertTrue(reference.out.contains(place) && (pgseal.out + pgseal.err).contains(place), "\(label) at \(place): \(reference.out) | \(pgseal.out)\(pgseal.err)")
            }
        }
    }

    func scratchDatabases() throws -> [String] {
        try PostgresServer.shared().psql("SELECT datname FROM pg_database WHERE datname LIKE 'pgseal\\_verify\\_%'")
            .split(separator: "\n").map(String.init)
    }

    func verifyRestore(_ path: String) throws -> CommandResult {
        try PGSealCLI.run(["verify", path, "--level", "restore", "--trusted-key", keys.file("allowed_signers"),
                           "-i", keys.file("age-identity.txt"), "--scratch-db", try PostgresServer.shared().superuserURL])
    }

    func testRestoreLevelRoundTripsEveryEdgeCaseAndDropsTheScratchDatabase() throws {
        let everything = try TemporaryDirectory()
        let result = try PGSealCLI.run(["export", "--db", try ExportFixture.url(), "--to", everything.path,
                                        "--config", try ExportFixture.everythingConfig(in: everything), "--profile", "everything",
                                        "--recipients-file", keys.file("age-recipient.txt"), "--sign-key", keys.file("signing-key")])
        XCTAssertEqual(result.status, 0, result.err)
        let restored = try verifyRestore(result.out.trimmingCharacters(in: .newlines))
        XCTAssertEqual(restored.status, 0, restored.err)
        for table in ["public.users", "public.user_profiles", "public.user_watchlist", "public.user_subscriptions", "public.edge_values", "public.empty_table"] {
            XCTAssertTrue(restored.out.contains("\(table): ") && restored.out.contains("restored ok"), "\(table): \(restored.out)\(restored.err)")
        }
        XCTAssertFalse(restored.out.contains("MISMATCH"), restored.out)
        XCTAssertEqual(try scratchDatabases(), [])
    }

    func testRestoreNamesTheFirstRowThatDoesNotSurviveItsDeclaredType() throws {
        // An exporter that wrote a wrong type into the manifest: the data loads, but comes back different.
        let wrongType = try rebuilt("wrong-type", resealManifest: true, Self.retype(table: "users", column: "created_at", to: "date"))
        let deep = try verify(wrongType, level: "deep")
        XCTAssertEqual(deep.status, 0, "the deep level cannot see this: \(deep.err)")
        let result = try verifyRestore(wrongType)
        expectFailure(result, ["restore public.users", "first difference: row 1", "restored MISMATCH"])
        XCTAssertEqual(try scratchDatabases(), [])

        let badType = try rebuilt("bad-type", resealManifest: true, Self.retype(table: "users", column: "email", to: "integer"))
        expectFailure(try verifyRestore(badType), ["do not load into their declared types", "invalid input syntax for type integer"])
        XCTAssertEqual(try scratchDatabases(), [])
    }

    /// A shell step that changes one column's declared type in both manifest.json and tables.json.
    static func retype(table: String, column: String, to type: String) -> String {
        """
        for f in manifest.json tables.json; do
          python3 -c 'import json, sys; d = json.load(open(sys.argv[1])); [c.update(type=sys.argv[4]) for t in d["tables"] if t["name"] == sys.argv[2] for c in t["columns"] if c["name"] == sys.argv[3]]; json.dump(d, open(sys.argv[1], "w"))' "$f" \(table) \(column) '\(type)'
        done
        """
    }

    func testAnInterruptedRestoreDropsTheScratchDatabase() throws {
        let database = try PostgresServer.bigDatabase()
        let big = try TemporaryDirectory()
        let config = big.file("big.yaml")
        try "profiles:\n  - name: big\n    tables:\n      - table: big\n".write(toFile: config, atomically: true, encoding: .utf8)
        let exported = try PGSealCLI.run(["export", "--db", try PostgresServer.shared().url(database: database), "--to", big.path,
                                          "--config", config, "--profile", "big",
                                          "--recipients-file", keys.file("age-recipient.txt"), "--sign-key", keys.file("signing-key")])
        XCTAssertEqual(exported.status, 0, exported.err)
        let running = try PGSealCLI.start(["verify", exported.out.trimmingCharacters(in: .newlines), "--level", "restore",
                                           "--trusted-key", keys.file("allowed_signers"), "-i", keys.file("age-identity.txt"),
                                           "--scratch-db", try PostgresServer.shared().superuserURL])
        // Interrupted while rows are being loaded into the scratch database.
        let loading = try waitUntil(timeout: 60) {
            try !PostgresServer.shared().psql("""
                SELECT pid FROM pg_stat_activity WHERE datname LIKE 'pgseal\\_verify\\_%' AND query LIKE 'COPY%' AND state = 'active'
                """).isEmpty
        }
        XCTAssertTrue(loading, "no COPY into a scratch database was ever seen")
        running.signal(SIGTERM)
        let result = running.wait()
        XCTAssertEqual(result.status, 128 + SIGTERM, result.err)
        XCTAssertEqual(try scratchDatabases(), [], "the interrupted verification left its scratch database behind")
    }

    func testKeysOutOfOrderOrDuplicatedAreFoundByTheDeepLevel() throws {
        // Rows swapped and re-listed consistently in the manifest (an exporter that broke the
        // order): hashes agree, keys do not.
        let chunk = "data/public.user_watchlist/000002.jsonl"
        let swapped = try rebuilt("keys-swapped", resealManifest: true, """
            { sed -n 2p \(chunk); sed -n 1p \(chunk); sed -n '3,$p' \(chunk); } > x && mv x \(chunk)
            python3 - <<'PY'
            import hashlib, json
            m = json.load(open("manifest.json"))
            for t in m["tables"]:
                d = hashlib.sha256()
                for c in t["chunks"]:
                    data = open(c["path"], "rb").read()
                    c["sha256"] = hashlib.sha256(data).hexdigest()
                    for line in data.split(b"\\n")[:-1]:
                        d.update(hashlib.sha256(line).hexdigest().encode() + b"\\n")
                t["digest"] = d.hexdigest()
            json.dump(m, open("manifest.json", "w"))
            PY
            """)
        expectFailure(try verify(swapped, level: "deep"), [chunk, "does not follow", "out of key order"])
    }

    func testVerificationThatCannotRunExitsWithTwo() throws {
        let noIdentity = try PGSealCLI.run(["verify", archive, "--level", "deep", "--trusted-key", keys.file("allowed_signers")])
        XCTAssertEqual(noIdentity.status, 2)
        XCTAssertTrue(noIdentity.err.contains("need its age identity"), noIdentity.err)
        let noTrust = try PGSealCLI.run(["verify", archive])
        XCTAssertEqual(noTrust.status, 2)
        XCTAssertTrue(noTrust.err.contains("no trusted signer"), noTrust.err)
        let noScratch = try PGSealCLI.run(["verify", archive, "--level", "restore", "--trusted-key", keys.file("allowed_signers"),
                                           "-i", keys.file("age-identity.txt")], environment: ["PGSEAL_SCRATCH_DB": ""])
        XCTAssertEqual(noScratch.status, 2, noScratch.err)
        XCTAssertTrue(noScratch.err.contains("--scratch-db"), noScratch.err)
    }
}
