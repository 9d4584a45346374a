import Cryptography
import Foundation
import TestSupport
import XCTest

/// Partitioned exports (docs/FORMAT.md §10) as they would run on a cluster: worker processes
/// of the real binary against the real server, one killed and replaced, workers started
/// elsewhere, and every reader treating the parts as one archive — checked by PostgreSQL itself.
final class PartitionedExportTests: XCTestCase {
    var keys: TemporaryDirectory!
    var store: TemporaryDirectory!
    var server: PostgresServer!

    override func setUpWithError() throws {
        server = try PostgresServer.shared()
        keys = try TemporaryDirectory()
        store = try TemporaryDirectory()
        XCTAssertEqual(try PGSealCLI.run(["keygen", "--out", keys.path]).status, 0)
        try (HexDigits.encode(Crypto.randomBytes(32)) + "\n").write(toFile: keys.file("partition.key"), atomically: true, encoding: .utf8)
    }

    /// The partition key as a scheduler hands it to a coordinator and its workers (a secret in
    /// the environment), outside the store.
    var partitionKey: [String: String] {
        ["PGSEAL_PARTITION_KEY": (try? String(contentsOfFile: keys.file("partition.key"), encoding: .utf8)) ?? ""]
    }

    var trust: [String] { ["-i", keys.file("age-identity.txt"), "--trusted-key", keys.file("allowed_signers")] }
    var sealing: [String] { ["--recipients-file", keys.file("age-recipient.txt"), "--sign-key", keys.file("signing-key")] }

    func exportEverything(_ extra: [String]) throws -> CommandResult {
        try PGSealCLI.run(["export", "--db", try ExportFixture.url(), "--to", store.path,
                           "--config", try ExportFixture.everythingConfig(in: store), "--profile", "everything"] + sealing + extra)
    }

    /// Every file under the store, relative to it.
    func storedFiles() throws -> [String] {
        let root = URL(fileURLWithPath: store.path).resolvingSymlinksInPath().path
        return (FileManager.default.enumerator(atPath: root)?.allObjects as? [String] ?? [])
            .filter { path in
                var isDirectory: ObjCBool = false
                return FileManager.default.fileExists(atPath: root + "/" + path, isDirectory: &isDirectory) && !isDirectory.boolValue
            }.sorted()
    }

    func testAPartitionedExportIsOneArchiveForEveryReader() throws {
        let exported = try exportEverything(["--partitions", "3", "--workers", "2", "--report", store.file("export.json")])
        XCTAssertEqual(exported.status, 0, exported.err)
        let archive = exported.out.trimmingCharacters(in: .newlines)
        XCTAssertTrue(exported.err.contains("3 parts"), exported.err)

        // Three parts with their receipts and .sha256, one seal; no object under the archive's
        // name, and no plan left in the store.
        let files = try storedFiles().filter { $0.hasPrefix("everything/") && !$0.hasSuffix(".json") }
        XCTAssertEqual(files.filter { $0.contains(".part-") && $0.hasSuffix(".tar.zst.age") }.count, 3, "\(files)")
        XCTAssertEqual(files.filter { $0.hasSuffix(".receipt") }.count, 3, "\(files)")
        XCTAssertFalse(FileManager.default.fileExists(atPath: archive))
        XCTAssertTrue(FileManager.default.fileExists(atPath: archive + ".seal.sig"))
        XCTAssertFalse(try storedFiles().contains { $0.hasSuffix("partition-plan.json") })
        let seal = try JSONDocument(file: archive + ".seal")
        XCTAssertEqual(try seal["format"].string(), "pgseal-seal/2")
        XCTAssertEqual(try seal["parts"].array().count, 3)
        // The watchlist is split three ways, each part holding about a third of its rows.
        let watchlist = try seal["parts"].array().map { try $0["tables"].keyed(by: "name")["public.user_watchlist"]?["rows"].int() ?? 0 }
        XCTAssertEqual(watchlist.count, 3)
        for rows in watchlist { XCTAssertGreaterThan(rows, 10_000 / 3 / 2, "\(watchlist)") }

        // The independent reader (FORMAT.md alone) is the oracle of the seal's §10.2 digests,
        // sums and ranges, and of every part's rows: it must find the archive sound, and find
        // the seal unsound once one part's digest of a table is changed and the seal signed again.
        let reader = ["python3", Repository.path("scripts/reference_reader.py"), "--allowed-signers", keys.file("allowed_signers"),
                      "--identity", keys.file("age-identity.txt")]
        let independent = try Command.run(reader + [archive])
        XCTAssertEqual(independent.status, 0, independent.out + independent.err)
        let forgedDirectory = try TemporaryDirectory()
        let forged = forgedDirectory.path
        let forgedArchive = forged + "/" + URL(fileURLWithPath: archive).lastPathComponent
        let edit = try Command.run(["python3", "-c", """
            import json, sys
            seal = json.load(open(sys.argv[1] + ".seal"))
            part = seal["parts"][0]["tables"][0]
            part["digest"] = "0" * 64
            json.dump(seal, open(sys.argv[2] + ".seal", "w"), indent=2, sort_keys=True)
            """, archive, forgedArchive])
        XCTAssertEqual(edit.status, 0, edit.err)
        let resigned = try Command.run(["ssh-keygen", "-Y", "sign", "-q", "-f", keys.file("signing-key"), "-n", "pgseal", forgedArchive + ".seal"])
        XCTAssertEqual(resigned.status, 0, resigned.err)
        for part in try seal["parts"].array() {
            let object = try part["object"].string()
            try FileManager.default.copyItem(atPath: URL(fileURLWithPath: archive).deletingLastPathComponent().path + "/" + object, toPath: forged + "/" + object)
        }
        let refused = try Command.run(reader + [forgedArchive])
        XCTAssertEqual(refused.status, 1, refused.out + refused.err)
        XCTAssertTrue(refused.out.contains("not L of its parts' digests"), refused.out)
        let pgsealRefuses = try PGSealCLI.run(["verify", forgedArchive, "--level", "seal"] + trust)
        XCTAssertEqual(pgsealRefuses.status, 1, pgsealRefuses.out + pgsealRefuses.err)

        // Every level reads every part.
        for level in ["seal", "deep", "restore"] {
            var arguments = ["verify", archive, "--level", level, "--report", store.file("verify-\(level).json")] + trust
            if level == "restore" { arguments += ["--scratch-db", server.superuserURL] }
            if level == "deep" { arguments += ["--jobs", "3"] }  // all three parts at once
            let verified = try PGSealCLI.run(arguments)
            XCTAssertEqual(verified.status, 0, "\(level): \(verified.out)\(verified.err)")
        }
        let restoreReport = try JSONDocument(file: store.file("verify-restore.json"))
        for table in try restoreReport["tables"].array() {
            XCTAssertEqual(try table["restored_digest_matches"].typedBool(), true, "\(table)")
            XCTAssertEqual(try table["digest_matches"].typedBool(), true, "\(table)")
        }
        // The diff against the source finds nothing; against a changed copy, each change in its part.
        let diff = try PGSealCLI.run(["diff", archive, "--db", try ExportFixture.url()] + trust)
        XCTAssertEqual(diff.status, 0, diff.out + diff.err)
        XCTAssertTrue(diff.out.contains("no difference"), diff.out)

        // Restored into an empty database, PostgreSQL finds the source's rows, no more, no less.
        let target = try server.emptyDatabase(label: "partitioned", for: self)
        let restored = try PGSealCLI.run(["restore", archive, "--db", server.url(database: target), "--create-tables"] + trust)
        XCTAssertEqual(restored.status, 0, restored.err)
        XCTAssertEqual(try server.rowsDiffering(restored: target, source: try ExportFixture.database(), tables: ExportFixture.everything), [])
        // The last user's watchlist (in the last part) deleted, a user (in the first) changed.
        let lastUser = try server.psql("SELECT user_id FROM user_watchlist ORDER BY user_id DESC LIMIT 1", database: target)
            .trimmingCharacters(in: .whitespacesAndNewlines)
        let lost = try server.psql("DELETE FROM user_watchlist WHERE user_id = '\(lastUser)' RETURNING 1", database: target)
            .split(separator: "\n").count
        try server.psql("UPDATE users SET email = 'changed@example.com' WHERE id = (SELECT id FROM users WHERE is_active ORDER BY id LIMIT 1)", database: target)
        let changed = try PGSealCLI.run(["diff", archive, "--db", server.url(database: target)] + trust)
        XCTAssertEqual(changed.status, 1, changed.out + changed.err)
        XCTAssertTrue(changed.out.contains("public.user_watchlist:") && changed.out.contains("\(lost) only in the archive"), changed.out)
        XCTAssertTrue(changed.out.contains("public.users:") && changed.out.contains("1 changed"), changed.out)
        // Partial recovery from the parts: the lost rows back, nothing else touched.
        let recovered = try PGSealCLI.run(["recover", archive, "--db", server.url(database: target), "--table", "user_watchlist",
                                           "--where", "user_id=\(lastUser)", "--on-conflict", "skip"] + trust)
        XCTAssertEqual(recovered.status, 0, recovered.out + recovered.err)
        XCTAssertTrue(recovered.out.contains("\(lost) inserted"), recovered.out)
        let afterRecovery = try PGSealCLI.run(["diff", archive, "--db", server.url(database: target)] + trust)
        XCTAssertTrue(afterRecovery.out.contains("public.user_watchlist:") && !afterRecovery.out.contains("only in the archive: "), afterRecovery.out)

        // The catalog, the series and the auditor's view: one archive.
        let listed = try PGSealCLI.run(["list", store.path, "--trusted-key", keys.file("allowed_signers"), "--json"])
        XCTAssertEqual(listed.status, 0, listed.err)
        let catalog = try JSONDocument(data: Data(listed.out.utf8))
        XCTAssertEqual(try catalog["sealed"].array().count, 1, listed.out)
        XCTAssertEqual(try catalog["incomplete"].array().count, 0, listed.out)
        XCTAssertEqual(try catalog["tombstones"].array().count, 0, listed.out)
        let check = try PGSealCLI.run(["check", store.path, "--trusted-key", keys.file("allowed_signers"), "--max-age", "1h"])
        XCTAssertEqual(check.status, 0, check.out + check.err)
        let chain = try PGSealCLI.run(["chain", store.path, "--trusted-key", keys.file("allowed_signers")])
        XCTAssertEqual(chain.status, 0, chain.out + chain.err)
        XCTAssertTrue(chain.out.contains("INTACT"), chain.out)
        let inspect = try PGSealCLI.run(["inspect", archive, "--trusted-key", keys.file("allowed_signers")])
        XCTAssertTrue(inspect.out.contains("parts       3 objects") && inspect.out.contains("part 3 "), inspect.out)

        // A copy elsewhere verifies; prune then removes every part, keeping the seal.
        let copy = try TemporaryDirectory()
        let replicated = try PGSealCLI.run(["replicate", archive, "--to", copy.path, "--trusted-key", keys.file("allowed_signers")])
        XCTAssertEqual(replicated.status, 0, replicated.err)
        let copied = replicated.out.trimmingCharacters(in: .newlines)
        XCTAssertEqual(try PGSealCLI.run(["verify", copied, "--level", "deep"] + trust).status, 0)
        Thread.sleep(forTimeInterval: 1.1)  // archive names are to the second
        XCTAssertEqual(try exportEverything([]).status, 0, "a newer archive, so that prune may take the partitioned one")
        let pruned = try PGSealCLI.run(["prune", store.path, "--trusted-key", keys.file("allowed_signers"), "--keep-last", "1", "--keep-within", "1s"])
        XCTAssertEqual(pruned.status, 0, pruned.out + pruned.err)
        let left = try storedFiles().filter { $0.hasPrefix("everything/") && $0.contains(URL(fileURLWithPath: archive).lastPathComponent.replacingOccurrences(of: ".tar.zst.age", with: "")) }
        XCTAssertFalse(left.contains { $0.contains(".part-") }, "every part, receipt and .sha256 removed: \(left)")
        XCTAssertTrue(left.contains { $0.hasSuffix(".seal.sig") } && left.contains { $0.hasSuffix(".tombstone") }, "\(left)")
        let afterPrune = try PGSealCLI.run(["chain", store.path, "--trusted-key", keys.file("allowed_signers")])
        XCTAssertEqual(afterPrune.status, 0, afterPrune.out + afterPrune.err)
    }

    /// The same in a bucket (SigV4 checked on every request): the plan, parts, receipts and seal
    /// go through S3, and the readers read the parts from there.
    func testAPartitionedExportIntoS3() throws {
        let s3 = try S3Server.shared()
        let bucket = try s3.makeBucket()
        let exported = try PGSealCLI.run(["export", "--profile", "kessan-user-data", "--db", try ExportFixture.url(), "--to", "s3://\(bucket)/nightly/",
                                          "--partitions", "2"] + sealing, environment: s3.environment())
        XCTAssertEqual(exported.status, 0, exported.err)
        let archive = exported.out.trimmingCharacters(in: .newlines)
        XCTAssertTrue(archive.hasPrefix("s3://\(bucket)/nightly/kessan-user-data/"), archive)
        let verified = try PGSealCLI.run(["verify", archive, "--level", "restore", "--scratch-db", server.superuserURL] + trust,
                                         environment: s3.environment())
        XCTAssertEqual(verified.status, 0, verified.out + verified.err)
        let diff = try PGSealCLI.run(["diff", archive, "--db", try ExportFixture.url()] + trust, environment: s3.environment())
        XCTAssertEqual(diff.status, 0, diff.out + diff.err)
        let listed = try PGSealCLI.run(["list", "s3://\(bucket)/nightly/", "--trusted-key", keys.file("allowed_signers"), "--json"],
                                       environment: s3.environment())
        let catalog = try JSONDocument(data: Data(listed.out.utf8))
        XCTAssertEqual(try catalog["sealed"].array().count, 1, listed.out)
        XCTAssertEqual(try catalog["incomplete"].array().count, 0, listed.out)
    }

    func testAWorkerKilledMidPartIsReplacedAndTheArchiveVerifies() throws {
        let database = try PostgresServer.bigDatabase()
        let running = try PGSealCLI.start(["export", "--db", server.url(database: database), "--to", store.path, "--table", "public.big",
                                           "--name", "big", "--partitions", "2", "--workers", "2"] + sealing)
        // The first worker of part 1, killed as soon as it runs: the coordinator starts another.
        let killed = try waitUntil(timeout: 60) { try Command.run(["pkill", "-KILL", "-f", "partition-worker.*--name big.*--part 1( |$)"]).status == 0 }
        let result = running.wait()
        XCTAssertTrue(killed, "no worker of part 1 was seen running")
        XCTAssertEqual(result.status, 0, result.err)
        XCTAssertTrue(result.err.contains("part 1 of 2, attempt 1 of 3") && result.err.contains("killed by signal 9"), result.err)
        let archive = result.out.trimmingCharacters(in: .newlines)
        let verified = try PGSealCLI.run(["verify", archive, "--level", "restore", "--scratch-db", server.superuserURL] + trust)
        XCTAssertEqual(verified.status, 0, verified.out + verified.err)
        let diff = try PGSealCLI.run(["diff", archive, "--db", server.url(database: database)] + trust)
        XCTAssertEqual(diff.status, 0, diff.out + diff.err)
        // The killed worker's unfinished object is nowhere under a final name: at most a hidden
        // `.partial-` file (SIGKILL cannot be caught), which readers ignore and a later export
        // removes once stale.
        let files = try storedFiles().filter { $0.hasPrefix("big/") }
        let final = files.filter { !URL(fileURLWithPath: $0).lastPathComponent.hasPrefix(".") }
        XCTAssertEqual(final.filter { !$0.hasSuffix(".seal") && !$0.hasSuffix(".seal.sig") }.count, 6, "two parts, their receipts and .sha256: \(files)")
        XCTAssertTrue(files.filter { !final.contains($0) }.allSatisfy { $0.contains(".partial-") }, "\(files)")
    }

    func testAnInterruptedCoordinatorStopsItsWorkersAndLeavesNothing() throws {
        let database = try PostgresServer.bigDatabase()
        let running = try PGSealCLI.start(["export", "--db", server.url(database: database), "--to", store.path, "--table", "public.big",
                                           "--name", "stopped", "--partitions", "2", "--workers", "2"] + sealing)
        let workers = try waitUntil(timeout: 60) { try Command.run(["pgrep", "-f", "partition-worker.*--name stopped"]).status == 0 }
        XCTAssertTrue(workers, "no worker was seen running")
        running.signal(SIGTERM)
        let result = running.wait()
        XCTAssertEqual(result.status, 128 + SIGTERM, result.err)
        Thread.sleep(forTimeInterval: 0.5)
        XCTAssertNotEqual(try Command.run(["pgrep", "-f", "partition-worker.*--name stopped"]).status, 0, "the workers were stopped")
        XCTAssertEqual(try storedFiles().filter { $0.hasPrefix("stopped/") }, [], "no plan, part, receipt or seal left")
    }

    func testWorkersStartedElsewhereAndAnExportThatTimesOutLeavesNothing() throws {
        let coordinator = try PGSealCLI.start(["export", "--db", try ExportFixture.url(), "--to", store.path,
                                               "--config", try ExportFixture.everythingConfig(in: store), "--profile", "everything",
                                               "--partitions", "2", "--external-workers", "--partition-timeout", "2m",
                                               "--partition-key-file", keys.file("partition.key")] + sealing)
        // As a Kubernetes Indexed Job and an AWS Batch array job would start them: no signing key,
        // the part from the scheduler's index, the partition key from a secret (a file, a variable).
        let worker = ["export", "--db", try ExportFixture.url(), "--to", store.path, "--config", try ExportFixture.everythingConfig(in: store),
                      "--profile", "everything", "--recipients-file", keys.file("age-recipient.txt"), "--partition-worker", "-q"]
        let first = try PGSealCLI.run(worker + ["--partition-key-file", keys.file("partition.key")], environment: ["JOB_COMPLETION_INDEX": "0"])
        let second = try PGSealCLI.run(worker, environment: partitionKey.merging(["AWS_BATCH_JOB_ARRAY_INDEX": "1"]) { a, _ in a })
        XCTAssertEqual(first.status, 0, first.err)
        XCTAssertEqual(second.status, 0, second.err)
        let sealed = coordinator.wait()
        XCTAssertEqual(sealed.status, 0, sealed.err)
        let archive = sealed.out.trimmingCharacters(in: .newlines)
        XCTAssertEqual(try PGSealCLI.run(["verify", archive, "--level", "deep"] + trust).status, 0)

        // No worker comes: the coordinator gives up, and nothing of the export stays behind.
        let before = try storedFiles()
        let keyless = try exportEverything(["--partitions", "2", "--external-workers"])
        XCTAssertEqual(keyless.status, 2, keyless.err)
        XCTAssertTrue(keyless.err.contains("--partition-key-file") && keyless.err.contains("openssl rand -hex 32"), keyless.err)
        let abandoned = try exportEverything(["--partitions", "2", "--external-workers", "--partition-timeout", "3s", "--partition-key-file", keys.file("partition.key")])
        XCTAssertEqual(abandoned.status, 2, abandoned.err)
        XCTAssertTrue(abandoned.err.contains("not written within 3 s"), abandoned.err)
        XCTAssertEqual(try storedFiles().filter { !$0.hasSuffix(".yaml") }, before.filter { !$0.hasSuffix(".yaml") }, "no plan, part or seal left")
        // A worker without a coordinator waits for a plan, then says what to start.
        // An index from the scheduler that no plan has: refused by name, no trap.
        let huge = try PGSealCLI.run(worker + ["--plan-wait", "1s"], environment: partitionKey.merging(["JOB_COMPLETION_INDEX": String(Int.max)]) { a, _ in a })
        XCTAssertEqual(huge.status, 2, huge.err)
        XCTAssertTrue(huge.err.contains("is not a part of any plan"), huge.err)
        let orphan = try PGSealCLI.run(worker + ["--part", "1", "--plan-wait", "1s"], environment: partitionKey)
        XCTAssertEqual(orphan.status, 2, orphan.err)
        XCTAssertTrue(orphan.err.contains("no partition plan") && orphan.err.contains("--partitions"), orphan.err)
    }

    /// The store is no channel between the coordinator and its workers (docs/SECURITY.md): while
    /// a coordinator waits for workers started elsewhere, a writer of the store copies parts of
    /// other exports — with their `.sha256` and receipts, names edited — under the new parts'
    /// names. None of them is sealed: the receipts are not authenticated by this export's key.
    func testPartsCopiedIntoTheStoreFromOtherExportsAreNeverSealed() throws {
        let older = try exportEverything(["--partitions", "2"])
        XCTAssertEqual(older.status, 0, older.err)
        let olderArchive = older.out.trimmingCharacters(in: .newlines)
        let otherProfile = try PGSealCLI.run(["export", "--db", try ExportFixture.url(), "--to", store.path, "--profile", "kessan-user-data", "--partitions", "2"] + sealing)
        XCTAssertEqual(otherProfile.status, 0, otherProfile.err)
        let otherArchive = otherProfile.out.trimmingCharacters(in: .newlines)
        func part(_ archive: String, _ index: Int) -> String {
            archive.replacingOccurrences(of: ".tar.zst.age", with: ".part-000\(index)-of-0002.tar.zst.age")
        }
        // The genuine receipt of part 1 of an export under this key, for the replay.
        let (replayed, receiptOfPart1) = try runCoordinatorAndWorkers()

        let cases: [(String, (Int) -> String, Bool)] = [
            ("an older export's parts of this profile, names edited", { part(olderArchive, $0) }, true),
            ("another profile's parts", { part(otherArchive, $0) }, true),
            ("a receipt of another export under the same key, replayed unedited", { _ in receiptOfPart1 }, false),
        ]
        for (label, source, editName) in cases {
            let before = try storedFiles()
            let coordinator = try PGSealCLI.start(["export", "--db", try ExportFixture.url(), "--to", store.path,
                                                   "--config", try ExportFixture.everythingConfig(in: store), "--profile", "everything",
                                                   "--partitions", "2", "--external-workers", "--partition-timeout", "1m"] + sealing,
                                                  environment: partitionKey)
            let planPath = store.file("everything/partition-plan.json")
            XCTAssertTrue(try waitUntil(timeout: 60) { FileManager.default.fileExists(atPath: planPath) }, "\(label): no plan")
            let plan = try JSONDocument(data: try Data(contentsOf: URL(fileURLWithPath: planPath)))
            let targets = try plan["parts"].array().map { try store.path + "/" + $0["object"].string() }
            for (index, target) in targets.enumerated() {
                let from = source(index + 1)
                let object = from.hasSuffix(".receipt") ? String(from.dropLast(".receipt".count)) : from
                for suffix in ["", ".sha256"] { try FileManager.default.copyItem(atPath: object + suffix, toPath: target + suffix) }
                // The receipt names its object: the attacker edits it to the new name.
                let edit = """
                    import json, sys
                    d = json.load(open(sys.argv[1]))
                    r = d.get('receipt', d)
                    if sys.argv[3] == 'edit': r['object'] = sys.argv[4]
                    json.dump(d, open(sys.argv[2], 'w'), indent=2, sort_keys=True)
                    """
                let planted = try Command.run(["python3", "-c", edit, object + ".receipt", target + ".receipt", editName ? "edit" : "keep",
                                               (target as NSString).lastPathComponent])
                XCTAssertEqual(planted.status, 0, planted.err)
            }
            let result = coordinator.wait()
            XCTAssertEqual(result.status, 2, "\(label): sealed: \(result.out) \(result.err)")
            XCTAssertTrue(result.err.contains("is not authenticated by this export's partition key"), "\(label): \(result.err)")
            XCTAssertEqual(try storedFiles(), before, "\(label): the coordinator left something, or sealed")
        }
        XCTAssertEqual(try PGSealCLI.run(["verify", replayed, "--level", "deep"] + trust).status, 0)
    }

    /// A partitioned export with external workers under the test's key; its archive and the
    /// receipt of its first part.
    func runCoordinatorAndWorkers() throws -> (archive: String, receipt: String) {
        let coordinator = try PGSealCLI.start(["export", "--db", try ExportFixture.url(), "--to", store.path,
                                               "--config", try ExportFixture.everythingConfig(in: store), "--profile", "everything",
                                               "--partitions", "2", "--external-workers", "--partition-timeout", "2m"] + sealing,
                                              environment: partitionKey)
        let worker = ["export", "--db", try ExportFixture.url(), "--to", store.path, "--config", try ExportFixture.everythingConfig(in: store),
                      "--profile", "everything", "--recipients-file", keys.file("age-recipient.txt"), "--partition-worker", "-q"]
        for part in ["1", "2"] {
            let worker = try PGSealCLI.run(worker + ["--part", part], environment: partitionKey)
            XCTAssertEqual(worker.status, 0, worker.err)
        }
        let sealed = coordinator.wait()
        XCTAssertEqual(sealed.status, 0, sealed.err)
        let archive = sealed.out.trimmingCharacters(in: .newlines)
        return (archive, archive.replacingOccurrences(of: ".tar.zst.age", with: ".part-0001-of-0002.tar.zst.age") + ".receipt")
    }

    func testHostileSealsAndPlansAreRefusedByName() throws {
        let exported = try exportEverything(["--partitions", "2"])
        XCTAssertEqual(exported.status, 0, exported.err)
        let archive = exported.out.trimmingCharacters(in: .newlines)
        let sealBytes = try Data(contentsOf: URL(fileURLWithPath: archive + ".seal"))
        let signatureBytes = try Data(contentsOf: URL(fileURLWithPath: archive + ".seal.sig"))

        // A seal re-signed by a compromised exporter whose ranges leave a gap, or whose rows do
        // not add up: refused from the seal alone, before any part is read.
        for (edit, expected) in [("leave a gap", "leave a gap or overlap"), ("add rows", "do not add up")] {
            guard var seal = try JSONSerialization.jsonObject(with: sealBytes) as? [String: Any],
                  var parts = seal["parts"] as? [[String: Any]], var tables = parts[1]["tables"] as? [[String: Any]],
                  let index = tables.firstIndex(where: { $0["name"] as? String == "public.user_watchlist" }),
                  var range = tables[index]["range"] as? [String: Any] else { return XCTFail("the seal's parts") }
            if edit == "leave a gap" {
                range["from"] = "ffffffff-ffff-ffff-ffff-fffffffffffe"
                tables[index]["range"] = range
            } else {
                tables[index]["rows"] = (tables[index]["rows"] as? Int ?? 0) + 1
            }
            parts[1]["tables"] = tables
            seal["parts"] = parts
            let forged = [UInt8](try JSONSerialization.data(withJSONObject: seal, options: [.prettyPrinted, .sortedKeys]))
            FileManager.default.createFile(atPath: archive + ".seal", contents: Data(forged))
            let signature = try SSHSignature.sign(forged, namespace: "pgseal", key: try SSHSigningKey.load(file: keys.file("signing-key")))
            try signature.write(toFile: archive + ".seal.sig", atomically: true, encoding: .utf8)
            let verified = try PGSealCLI.run(["verify", archive, "--level", "deep"] + trust)
            XCTAssertEqual(verified.status, 1, verified.out + verified.err)
            XCTAssertTrue((verified.out + verified.err).contains(expected), "\(edit): \(verified.out)\(verified.err)")
        }
        FileManager.default.createFile(atPath: archive + ".seal", contents: sealBytes)
        FileManager.default.createFile(atPath: archive + ".seal.sig", contents: signatureBytes)
        XCTAssertEqual(try PGSealCLI.run(["verify", archive, "--level", "deep"] + trust).status, 0)

        // A part removed outside prune: verify names it, the series shows it.
        let part = archive.replacingOccurrences(of: ".tar.zst.age", with: ".part-0002-of-0002.tar.zst.age")
        try FileManager.default.moveItem(atPath: part, toPath: part + ".moved")
        let missing = try PGSealCLI.run(["verify", archive, "--level", "seal"] + trust)
        XCTAssertEqual(missing.status, 1, missing.out + missing.err)
        XCTAssertTrue(missing.out.contains("the part is missing"), missing.out)
        let chain = try PGSealCLI.run(["chain", store.path, "--trusted-key", keys.file("allowed_signers")])
        XCTAssertEqual(chain.status, 1, chain.out)
        XCTAssertTrue(chain.out.contains("object-missing"), chain.out)
        try FileManager.default.moveItem(atPath: part + ".moved", toPath: part)

        // Plans in the store are hostile input to a worker: each refused by what is wrong, no SQL run.
        let planPath = store.file("everything/partition-plan.json")
        let worker = ["export", "--db", try ExportFixture.url(), "--to", store.path, "--config", try ExportFixture.everythingConfig(in: store),
                      "--profile", "everything", "--recipients-file", keys.file("age-recipient.txt"), "--partition-worker", "--part", "1"]
        let good: [String: Any] = [
            "format": "pgseal-partition-plan/1", "archive": "everything/x.tar.zst.age", "profile": "everything", "created_at": "2026-12-03T00:00:00Z",
            "source": ["database": "d", "server_version": "15", "snapshot": "00000003-0000001B-1", "wal_lsn": "0/0", "isolation": "repeatable read", "consistent": true],
            "parts": [["object": "everything/x.part-0001-of-0001.tar.zst.age", "tables": [["name": "public.users", "range": ["column": "id", "from": NSNull(), "to": NSNull()]]]]],
        ]
        let hostile: [(String, (inout [String: Any]) -> Void, String)] = [
            ("a snapshot that is SQL", { $0["source"] = ["database": "d", "server_version": "15", "snapshot": "1'; DROP TABLE users; --", "wal_lsn": "0/0", "isolation": "r", "consistent": true] }, "is not a snapshot name"),
            ("another profile", { $0["profile"] = "other" }, "is for profile other"),
            ("an object outside the archive", { $0["parts"] = [["object": "../../etc/x.part-0001-of-0001.tar.zst.age", "tables": []]] }, "not a part of"),
            ("junk", { $0 = ["format": 7] }, "cannot be read"),
        ]
        for (name, edit, expected) in hostile {
            var plan = good
            edit(&plan)
            try JSONSerialization.data(withJSONObject: plan).write(to: URL(fileURLWithPath: planPath))
            let refused = try PGSealCLI.run(worker, environment: partitionKey)
            XCTAssertEqual(refused.status, 2, "\(name): \(refused.err)")
            XCTAssertTrue(refused.err.contains(expected), "\(name): \(refused.err)")
        }
        XCTAssertEqual(try server.psql("SELECT count(*) > 0 FROM users", database: try ExportFixture.database()).trimmingCharacters(in: .whitespacesAndNewlines), "t")
        // While a plan is there, a second coordinator of the profile refuses to start.
        let second = try exportEverything(["--partitions", "2"])
        XCTAssertEqual(second.status, 2, second.err)
        XCTAssertTrue(second.err.contains("another partitioned export of everything is running"), second.err)
    }
}

private extension JSONDocument {
    func typedBool() throws -> Bool {
        guard let value = value as? Bool else { throw TestSetupError("\(path) is not a Bool") }
        return value
    }
}
