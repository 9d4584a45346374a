import Foundation
import TestSupport
import XCTest

/// Exports of the fixture, opened and checked with tools that are not pgseal.
final class ExportTests: XCTestCase {
    func export(_ arguments: [String], into store: TemporaryDirectory) throws -> (archive: String, result: CommandResult) {
        let result = try PGSealCLI.run(["export", "--profile", "kessan-user-data", "--db", try ExportFixture.url(), "--to", store.path, "--no-encrypt", "--no-sign"] + arguments)
        XCTAssertEqual(result.status, 0, result.err)
        let archive = result.out.trimmingCharacters(in: .newlines)
        return (archive, result)
    }

    func testEveryEdgeCaseEqualsPostgreSQLsOwnToJsonb() throws {
        let store = try TemporaryDirectory()
        let config = try ExportFixture.everythingConfig(in: store)
        let (archive, _) = try export(["--config", config, "--profile", "everything"], into: store)
        let extracted = try ExtractedArchive(archive: archive)
        let oracle = try Oracle.compareToJsonb(extracted, database: try ExportFixture.url(), tables: ExportFixture.everything)
        XCTAssertTrue(oracle.contains("public.edge_values: 7 rows compared"), oracle)
        XCTAssertTrue(oracle.contains("public.empty_table: 0 rows compared"), oracle)
    }

    /// The oracles are only worth what they can catch: a duplicated row standing in for a
    /// missing one, one changed value, and a restored table with one row swapped for a copy of
    /// another are each found.
    func testTheOraclesCatchWhatTheyAreThereToCatch() throws {
        let store = try TemporaryDirectory()
        let (archive, _) = try export([], into: store)
        let url = try ExportFixture.url()
        let chunk = "data/public.user_watchlist/000001.jsonl"
        for (edit, expected) in [(#"sed -i '2{h;d};3G' "#, "differs"), (#"sed -i '2d;3p' "#, "appears 2 times"),
                                 (#"sed -i '5s/"ticker":"[^"]*"/"ticker":"ZZZZ"/' "#, "differs")] {
            let extracted = try ExtractedArchive(archive: archive)
            let edited = try Command.run(["bash", "-c", edit + chunk], directory: extracted.directory)
            XCTAssertEqual(edited.status, 0, edited.err)
            XCTAssertThrowsError(try Oracle.compareToJsonb(extracted, database: url, tables: ExportedTable.kessanUserData), edit) { error in
                XCTAssertTrue("\(error)".contains(expected), "\(edit): \(error)")
            }
        }
        // The restore oracle: a table holding the same number of rows, one of them twice.
        let server = try PostgresServer.shared()
        let copy = try server.emptyDatabase(label: "oracle", for: self)
        try server.psql("CREATE TABLE user_watchlist (user_id uuid, ticker text, notes text, added_at timestamptz)", database: copy)
        let rows = try server.psql("SELECT count(*) FROM user_watchlist", database: try ExportFixture.database()).trimmingCharacters(in: .whitespacesAndNewlines)
        let dump = try Command.run(["bash", "-c", "set -o pipefail; psql \"$0\" -X -c '\\copy user_watchlist TO STDOUT' | psql \"$1\" -X -q -c '\\copy user_watchlist FROM STDIN'",
                                    url, server.url(database: copy)])
        XCTAssertEqual(dump.status, 0, dump.err)
        let watchlist = [ExportedTable("public.user_watchlist", columns: ["user_id", "ticker", "notes", "added_at"])]
        XCTAssertEqual(try server.rowsDiffering(restored: copy, source: try ExportFixture.database(), tables: watchlist), [])
        try server.psql("""
            DELETE FROM user_watchlist WHERE ctid = (SELECT min(ctid) FROM user_watchlist);
            INSERT INTO user_watchlist SELECT * FROM user_watchlist WHERE ctid = (SELECT max(ctid) FROM user_watchlist);
            """, database: copy)
        XCTAssertEqual(try server.psql("SELECT count(*) FROM user_watchlist", database: copy).trimmingCharacters(in: .whitespacesAndNewlines), rows)
        XCTAssertEqual(try server.rowsDiffering(restored: copy, source: try ExportFixture.database(), tables: watchlist),
                       ["public.user_watchlist: 1 rows only in the restored table, 1 only in the source"])
    }

    func testStandardToolsOpenTheArchiveAndRecomputeTheManifest() throws {
        let store = try TemporaryDirectory()
        let (archive, result) = try export([], into: store)
        XCTAssertEqual(result.out, archive + "\n", "stdout must hold the archive's path and nothing else")
        XCTAssertTrue(archive.hasPrefix(store.path + "/kessan-user-data/"), archive)
        XCTAssertTrue(archive.hasSuffix(".tar.zst"), archive)

        let directory = (archive as NSString).deletingLastPathComponent
        let check = try Command.run(["sha256sum", "-c", (archive as NSString).lastPathComponent + ".sha256"], directory: directory)
        XCTAssertEqual(check.status, 0, check.out + check.err)
        XCTAssertTrue(check.out.contains(": OK"), check.out)

        let extracted = try ExtractedArchive(archive: archive)
        try Oracle.recomputeDigests(extracted)
        // Every row, as PostgreSQL's to_jsonb sees the built-in profile's tables and filters.
        try Oracle.compareToJsonb(extracted, database: try ExportFixture.url(), tables: ExportedTable.kessanUserData)

        // The profile's filters: only active users and subscriptions, as the database counts them.
        let server = try PostgresServer.shared()
        let database = try ExportFixture.database()
        let rows = try extracted.manifest["tables"].keyed(by: "name").mapValues { try $0["rows"].int() }
        XCTAssertEqual(rows["users"], Int(try server.psql("SELECT count(*) FROM users WHERE is_active", database: database).trimmingCharacters(in: .whitespacesAndNewlines)))
        XCTAssertEqual(rows["user_subscriptions"], Int(try server.psql("SELECT count(*) FROM user_subscriptions WHERE status = 'active'", database: database).trimmingCharacters(in: .whitespacesAndNewlines)))
        XCTAssertEqual(rows["user_watchlist"], Int(try server.psql("SELECT count(*) FROM user_watchlist", database: database).trimmingCharacters(in: .whitespacesAndNewlines)))
    }

    func testNoByteOfAnyArchiveHoldsAPasswordHashOrMFASecret() throws {
        let store = try TemporaryDirectory()
        let (archive, _) = try export([], into: store)
        let secrets = try PostgresServer.shared().psql(
            "SELECT password_hash FROM users UNION ALL SELECT mfa_secret FROM users WHERE mfa_secret IS NOT NULL",
            database: try ExportFixture.database())
            .split(separator: "\n").map(String.init)
        XCTAssertGreaterThan(secrets.count, ExportFixture.users)
        let decompressed = try Command.run(["zstd", "-dc", archive])
        XCTAssertEqual(decompressed.status, 0, decompressed.err)
        let tarball = decompressed.stdout
        XCTAssertGreaterThan(tarball.count, 100_000, "nothing was decompressed: every check below would pass vacuously")
        let compressed = try Data(contentsOf: URL(fileURLWithPath: archive))
        for secret in secrets {
            XCTAssertNil(tarball.range(of: Data(secret.utf8)), "the archive contains the secret \(secret)")
            XCTAssertNil(compressed.range(of: Data(secret.utf8)))
        }
        XCTAssertNil(tarball.range(of: Data("password_hash".utf8)))
        XCTAssertNil(tarball.range(of: Data("mfa_secret".utf8)))
    }

    func testChunksNeverSplitARowAndABigRowStandsAlone() throws {
        let store = try TemporaryDirectory()
        let (archive, _) = try export(["--chunk-size", "1"], into: store)
        let extracted = try ExtractedArchive(archive: archive)
        let watchlist = try XCTUnwrap(try extracted.manifest["tables"].keyed(by: "name")["user_watchlist"])
        let chunks = try watchlist["chunks"].array()
        XCTAssertGreaterThan(chunks.count, 2)
        var sawBigRow = false
        for chunk in chunks {
            let data = try Data(contentsOf: URL(fileURLWithPath: extracted.directory + "/" + (try chunk["path"].string())))
            XCTAssertEqual(data.last, 0x0A, "a chunk must end with a whole line")
            let bytes = try chunk["bytes"].int()
            let rows = try chunk["rows"].int()
            if bytes > 1 << 20 {
                XCTAssertEqual(rows, 1, "only a single row larger than the chunk size may exceed it")
                sawBigRow = true
            }
            for line in data.split(separator: 0x0A) {
                XCTAssertNoThrow(try JSONSerialization.jsonObject(with: Data(line)))
            }
        }
        XCTAssertTrue(sawBigRow, "the 1 MiB edge-case row should be a chunk of its own")
        let recompute = try Command.run([Repository.path("scripts/recompute_digests.py"), extracted.directory])
        XCTAssertEqual(recompute.status, 0, recompute.out)
    }

    func testParallelWorkersProduceTheSameRowsAndDigests() throws {
        let store = try TemporaryDirectory()
        let config = try ExportFixture.everythingConfig(in: store)
        let (serial, _) = try export(["--config", config, "--profile", "everything", "--jobs", "1"], into: store)
        Thread.sleep(forTimeInterval: 1.1)  // archive names have one-second resolution
        let (parallel, _) = try export(["--config", config, "--profile", "everything", "--jobs", "3"], into: store)
        XCTAssertNotEqual(serial, parallel)
        func digests(_ archive: String) throws -> [String] {
            try ExtractedArchive(archive: archive).manifest["tables"].array().map { "\(try $0["name"].string()) \(try $0["rows"].int()) \(try $0["digest"].string())" }
        }
        XCTAssertEqual(try digests(serial), try digests(parallel))
    }

    func testInspectShowsTheManifest() throws {
        let store = try TemporaryDirectory()
        let (archive, _) = try export(["--progress", "never"], into: store)
        let human = try PGSealCLI.run(["inspect", archive, "--insecure-unsigned"])
        XCTAssertEqual(human.status, 0, human.err)
        for expected in ["profile   kessan-user-data", "table public.users:", "table public.user_subscriptions:", "filter   is_active", "digest"] {
            XCTAssertTrue(human.out.contains(expected), "missing \(expected) in:\n\(human.out)")
        }
        let json = try PGSealCLI.run(["inspect", "--json", archive, "--insecure-unsigned"])
        XCTAssertEqual(json.status, 0, json.err)
        let extracted = try ExtractedArchive(archive: archive)
        XCTAssertEqual(json.stdout, extracted.manifestData)
    }

    func testReportFileDescribesTheExport() throws {
        let store = try TemporaryDirectory()
        let summary = try PGSealCLI.run(["export", "--profile", "kessan-user-data", "--db", try ExportFixture.url(), "--to", store.path, "--no-encrypt", "--no-sign", "--report", store.file("report.json")])
        XCTAssertEqual(summary.status, 0, summary.err)
        XCTAssertTrue(summary.err.contains("public.user_watchlist") && summary.err.contains("sha256"), summary.err)
        let report = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: store.file("report.json")))) as? [String: Any]
        XCTAssertEqual(report?["archive"] as? String, summary.out.trimmingCharacters(in: .newlines))
        XCTAssertEqual((report?["tables"] as? [Any])?.count, 4)
        let archive = summary.out.trimmingCharacters(in: .newlines)
        let size = try FileManager.default.attributesOfItem(atPath: archive)[.size] as? Int
        XCTAssertEqual(report?["object_bytes"] as? Int, size)
    }

    func testJSONLogLinesForLogShippers() throws {
        let store = try TemporaryDirectory()
        let result = try PGSealCLI.run(["export", "--profile", "kessan-user-data", "--db", try ExportFixture.url(), "--to", store.path, "--no-encrypt", "--no-sign",
                                        "-v", "--log-format", "json", "--progress", "never"])
        XCTAssertEqual(result.status, 0, result.err)
        let logLines = result.err.split(separator: "\n").filter { $0.hasPrefix("{") }
        XCTAssertFalse(logLines.isEmpty, result.err)
        for line in logLines {
            let record = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: String]
            XCTAssertNotNil(record?["time"])
            XCTAssertNotNil(record?["message"])
        }
        XCTAssertTrue(logLines.contains { $0.contains("\"level\":\"info\"") && $0.contains("snapshot") }, logLines.joined(separator: "\n"))
        let bad = try PGSealCLI.run(["export", "--log-format", "xml"])
        XCTAssertEqual(bad.status, 2)
        // A failure is a JSON line too, on every command; and a store that is not there is not made.
        XCTAssertEqual(try PGSealCLI.run(["keygen", "--out", store.file("keys")]).status, 0)
        let failed = try PGSealCLI.run(["prune", store.file("no-such-store"), "--keep-days", "1", "--log-format", "json",
                                        "--trusted-key", store.file("keys/allowed_signers")])
        XCTAssertEqual(failed.status, 2, failed.err)
        XCTAssertFalse(FileManager.default.fileExists(atPath: store.file("no-such-store")))
        let record = try JSONSerialization.jsonObject(with: Data((failed.err.split(separator: "\n").last.map(String.init) ?? "").utf8)) as? [String: String]
        XCTAssertEqual(record?["level"], "error", failed.err)
        XCTAssertTrue(record?["message"]?.contains("no-such-store does not exist") ?? false, failed.err)
    }

    func testSettingsLayerFileThenEnvironmentThenFlags() throws {
        let store = try TemporaryDirectory()
        let other = try TemporaryDirectory()
        let config = store.file("pgseal.yaml")
        try "to: /nonexistent/never-used\ncompression: gzip\nprofile: kessan-user-data\n".write(toFile: config, atomically: true, encoding: .utf8)
        // Environment beats the file.
        let fromEnvironment = try PGSealCLI.run(["export", "--no-encrypt", "--no-sign", "--config", config],
                                                environment: ["PGSEAL_DB": try ExportFixture.url(), "PGSEAL_TO": store.path])
        XCTAssertEqual(fromEnvironment.status, 0, fromEnvironment.err)
        XCTAssertTrue(fromEnvironment.out.hasPrefix(store.path) && fromEnvironment.out.contains(".tar.gz"), fromEnvironment.out)
        // A flag beats the environment.
        let fromFlag = try PGSealCLI.run(["export", "--no-encrypt", "--no-sign", "--config", config, "--to", other.path, "--compression", "none"],
                                         environment: ["PGSEAL_DB": try ExportFixture.url(), "PGSEAL_TO": store.path])
        XCTAssertEqual(fromFlag.status, 0, fromFlag.err)
        XCTAssertTrue(fromFlag.out.hasPrefix(other.path) && fromFlag.out.hasSuffix(".tar\n"), fromFlag.out)
        let listing = try Command.run(["tar", "-tf", fromFlag.out.trimmingCharacters(in: .newlines)])
        XCTAssertTrue(listing.out.contains("manifest.json"), listing.out + listing.err)
    }

    /// Streaming, bounded memory (README, DESIGN.md): the peak RSS of an export — zstd, age,
    /// signed — and of its deep verification is the same for 400,000 rows (about 160 MiB of
    /// JSON Lines) as for 25,000, within a few MiB: no stage holds a table, a chunk list or an
    /// object. /usr/bin/time measures the process as the kernel counts it.
    func testPeakMemoryDoesNotGrowWithTheData() throws {
        let keys = try TemporaryDirectory()
        XCTAssertEqual(try PGSealCLI.run(["keygen", "--out", keys.path]).status, 0)
        func peak(_ arguments: [String]) throws -> (kib: Int, out: String) {
            let run = try Command.run(["/usr/bin/time", "-f", "peak-rss-kib %M", Repository.pgsealBinary] + arguments)
            XCTAssertEqual(run.status, 0, run.err)
            let kib = try XCTUnwrap(run.err.split(separator: "\n").last { $0.hasPrefix("peak-rss-kib ") }.flatMap { Int($0.dropFirst(13)) }, run.err)
            return (kib, run.out.trimmingCharacters(in: .newlines))
        }
        var measured: [(rows: Int, export: Int, verify: Int, bytes: Int64)] = []
        for rows in [25_000, 400_000] {
            let store = try TemporaryDirectory()
            let database = try PostgresServer.shared().url(database: try PostgresServer.bigDatabase(rows: rows))
            let exported = try peak(["export", "--table", "public.big", "--name", "big", "--db", database, "--to", store.path, "-q", "--progress", "never",
                                     "--recipients-file", keys.file("age-recipient.txt"), "--sign-key", keys.file("signing-key")])
            let verified = try peak(["verify", exported.out, "--level", "deep", "-i", keys.file("age-identity.txt"), "--trusted-key", keys.file("allowed_signers")])
            let manifest = try JSONDocument(file: exported.out + ".seal")
            XCTAssertEqual(try manifest["tables"].array().first?["rows"].int(), rows)
            let bytes = try XCTUnwrap(try FileManager.default.attributesOfItem(atPath: exported.out)[.size] as? Int64)
            measured.append((rows, exported.kib / 1024, verified.kib / 1024, bytes))
        }
        print("peak RSS (MiB) by rows: " + measured.map { "\($0.rows) rows (object \($0.bytes >> 20) MiB): export \($0.export), verify --level deep \($0.verify)" }.joined(separator: "; "))
        let (small, large) = (measured[0], measured[1])
        XCTAssertLessThanOrEqual(large.export, small.export + 16, "the export's peak grew with 16 times the rows: \(measured)")
        XCTAssertLessThanOrEqual(large.verify, small.verify + 16, "deep verification's peak grew with 16 times the rows: \(measured)")
        XCTAssertLessThan(large.export, 200, "export peak RSS in MiB")
    }
}
