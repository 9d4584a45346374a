import Foundation
import TestSupport
import XCTest

/// Exports into S3, against a server that checks every SigV4 signature.
final class S3ExportTests: XCTestCase {
    var keys: TemporaryDirectory!
    var s3: S3Server!

    override func setUpWithError() throws {
        s3 = try S3Server.shared()
        keys = try TemporaryDirectory()
        XCTAssertEqual(try PGSealCLI.run(["keygen", "--out", keys.path]).status, 0)
    }

    func export(to bucket: String, database: String? = nil, environment: [String: String]? = nil, _ extra: [String] = []) throws -> CommandResult {
        let db = try database.map { try PostgresServer.shared().url(database: $0) } ?? ExportFixture.url()
        return try PGSealCLI.run(["export", "--profile", "kessan-user-data", "--db", db, "--to", "s3://\(bucket)/nightly/",
                                  "--recipients-file", keys.file("age-recipient.txt"), "--sign-key", keys.file("signing-key")] + extra,
                                 environment: environment ?? s3.environment())
    }

    /// Not finding an archive, a wrong secret, or a sidecar given for the archive are no
    /// accusation: exit 2 with what happened, never "FAILED … seal is missing" (exit 1).
    func testWhatIsNotThereIsNotTampering() throws {
        let bucket = try s3.makeBucket()
        let exported = try export(to: bucket)
        XCTAssertEqual(exported.status, 0, exported.err)
        let url = exported.out.trimmingCharacters(in: .newlines)
        let trusted = ["--trusted-key", keys.file("allowed_signers")]
        let missing = try PGSealCLI.run(["verify", url + "x", "--level", "seal"] + trusted, environment: s3.environment())
        XCTAssertEqual(missing.status, 2, missing.err)
        XCTAssertTrue(missing.err.contains("does not exist") || missing.err.contains("not found"), missing.err)
        let noBucket = try PGSealCLI.run(["verify", "s3://no-such-bucket-\(bucket)/x.tar.zst.age", "--level", "seal"] + trusted, environment: s3.environment())
        XCTAssertEqual(noBucket.status, 2, noBucket.err)
        let wrongSecret = try PGSealCLI.run(["verify", url, "--level", "seal"] + trusted, environment: s3.environment(secret: "wrong"))
        XCTAssertEqual(wrongSecret.status, 2, wrongSecret.err)
        XCTAssertTrue(wrongSecret.err.contains("SignatureDoesNotMatch") || wrongSecret.err.contains("HTTP 403"), wrongSecret.err)
        let sidecar = try PGSealCLI.run(["verify", url + ".seal", "--level", "seal"] + trusted, environment: s3.environment())
        XCTAssertEqual(sidecar.status, 2, sidecar.err)
        XCTAssertTrue(sidecar.err.contains("give the archive itself"), sidecar.err)
        let found = try PGSealCLI.run(["verify", url, "--level", "seal"] + trusted, environment: s3.environment())
        XCTAssertEqual(found.status, 0, found.err)
    }

    func listing(_ bucket: String) throws -> [String: Int] {
        let out = try s3.boto("""
            for o in s3.list_objects_v2(Bucket='\(bucket)').get('Contents', []): print(o['Key'], o['Size'])
            """)
        return Dictionary(uniqueKeysWithValues: out.split(separator: "\n").map { line in
            let parts = line.split(separator: " ")
            return (String(parts[0]), Int(parts[1]) ?? -1)
        })
    }

    func uploadsInProgress(_ bucket: String) throws -> String {
        try s3.boto("print(len(s3.list_multipart_uploads(Bucket='\(bucket)').get('Uploads', [])))").trimmingCharacters(in: .whitespacesAndNewlines)
    }

    func testASealedArchiveLandsInS3AndItsHashAndSignatureHold() throws {
        let bucket = try s3.makeBucket()
        let result = try export(to: bucket)
        XCTAssertEqual(result.status, 0, result.err)
        let url = result.out.trimmingCharacters(in: .newlines)
        XCTAssertTrue(url.hasPrefix("s3://\(bucket)/nightly/kessan-user-data/") && url.hasSuffix(".tar.zst.age"), url)
        let key = String(url.dropFirst("s3://\(bucket)/".count))
        let objects = try listing(bucket)
        XCTAssertEqual(Set(objects.keys), Set([key, key + ".sha256", key + ".seal", key + ".seal.sig"]))
        // Download with boto3 and check with the standard tools.
        let directory = try TemporaryDirectory()
        let name = (key as NSString).lastPathComponent
        _ = try s3.boto("""
            for suffix in ['', '.sha256', '.seal', '.seal.sig']:
                s3.download_file('\(bucket)', '\(key)' + suffix, '\(directory.path)/\(name)' + suffix)
            """)
        let check = try Command.run(["bash", "-c", """
            set -euo pipefail; cd "$0"
            sha256sum -c "$1.sha256"
            ssh-keygen -Y verify -f "$2/allowed_signers" -I pgseal -n pgseal -s "$1.seal.sig" < "$1.seal"
            age -d -i "$2/age-identity.txt" "$1" | zstd -d | tar -t | grep -c jsonl
            """, directory.path, name, keys.path])
        XCTAssertEqual(check.status, 0, check.out + check.err)
        // What came back is every row the database holds, by oracles that are not pgseal.
        let extracted = try ExtractedArchive(archive: directory.file(name), identity: keys.file("age-identity.txt"))
        try Oracle.recomputeDigests(extracted)
        try Oracle.compareToJsonb(extracted, database: try ExportFixture.url(), tables: ExportedTable.kessanUserData)
        let verify = try PGSealCLI.run(["verify", directory.file(name), "--trusted-key", keys.file("allowed_signers"), "-i", keys.file("age-identity.txt")])
        XCTAssertEqual(verify.status, 0, verify.err)
        // Read in place from S3: verify at both levels, inspect, diff.
        let sealOnly = try PGSealCLI.run(["verify", url, "--trusted-key", keys.file("allowed_signers")], environment: s3.environment())
        XCTAssertEqual(sealOnly.status, 0, sealOnly.err)
        XCTAssertTrue(sealOnly.out.contains("verified at level seal"), sealOnly.out + sealOnly.err)
        let deep = try PGSealCLI.run(["verify", url, "--trusted-key", keys.file("allowed_signers"), "-i", keys.file("age-identity.txt")],
                                     environment: s3.environment())
        XCTAssertEqual(deep.status, 0, deep.err)
        XCTAssertTrue(deep.out.contains("verified at level deep"), deep.out + deep.err)
        let inspect = try PGSealCLI.run(["inspect", url, "--trusted-key", keys.file("allowed_signers")], environment: s3.environment())
        XCTAssertTrue(inspect.out.contains("encryption  age-x25519"), inspect.out + inspect.err)
        let diff = try PGSealCLI.run(["diff", url, "--db", try ExportFixture.url(), "-i", keys.file("age-identity.txt"), "--trusted-key", keys.file("allowed_signers")], environment: s3.environment())
        XCTAssertEqual(diff.status, 0, diff.out + diff.err)
        // A damaged copy in S3 is found at the seal level without a key.
        _ = try s3.boto("""
            body = bytearray(s3.get_object(Bucket='\(bucket)', Key='\(key)')['Body'].read()); body[1000] ^= 1
            s3.put_object(Bucket='\(bucket)', Key='\(key)', Body=bytes(body))
            """)
        let damaged = try PGSealCLI.run(["verify", url, "--trusted-key", keys.file("allowed_signers")], environment: s3.environment())
        XCTAssertEqual(damaged.status, 1, damaged.err)
        XCTAssertTrue(damaged.out.contains("object: SHA-256"), damaged.out + damaged.err)
    }

    func testLargeObjectsGoUpInPartsByteIdentical() throws {
        let database = try PostgresServer.bigDatabase()
        let bucket = try s3.makeBucket()
        let config = keys.file("big.yaml")
        try "profiles:\n  - name: big\n    tables:\n      - table: big\n".write(toFile: config, atomically: true, encoding: .utf8)
        // Parts from 5 MiB, doubling every 3 parts: 5, 5, 5, 10, 10, 10, 20, 20, 20, 40, 40 MiB for 160 MiB.
        var environment = s3.environment()
        environment["PGSEAL_S3_PART_SIZE_MIB"] = "5"
        environment["PGSEAL_S3_PARTS_PER_TIER"] = "3"
        let result = try export(to: bucket, database: database, environment: environment, ["--config", config, "--profile", "big", "--compression", "none"])
        XCTAssertEqual(result.status, 0, result.err)
        let key = String(result.out.trimmingCharacters(in: .newlines).dropFirst("s3://\(bucket)/".count))
        let size = try listing(bucket)[key] ?? 0
        XCTAssertGreaterThan(size, 150 << 20)
        let parts = try s3.boto("print(s3.head_object(Bucket='\(bucket)', Key='\(key)')['ETag'].strip('\"').split('-')[1])")
        var expected = 0
        var remaining = size
        while remaining > 0 {
            expected += 1
            remaining -= (5 << 20) << min(4, (expected - 1) / 3)
        }
        XCTAssertEqual(parts.trimmingCharacters(in: .whitespacesAndNewlines), String(expected), "parts should grow: 3 × 5, 3 × 10, 3 × 20 MiB, …")
        let directory = try TemporaryDirectory()
        _ = try s3.boto("s3.download_file('\(bucket)', '\(key)', '\(directory.path)/o')")
        // The parts joined into the object pgseal streamed: judged by oracles that are not
        // pgseal (age -d, tar, the digest script, PostgreSQL's to_jsonb), not by its sidecar.
        let extracted = try ExtractedArchive(archive: directory.file("o"), identity: keys.file("age-identity.txt"))
        try Oracle.recomputeDigests(extracted)
        try Oracle.compareToJsonb(extracted, database: try PostgresServer.shared().url(database: database), tables: [ExportedTable("public.big")])
        XCTAssertEqual(try uploadsInProgress(bucket), "0")
    }

    func testAWrongSecretIsRefusedWithAReasonAndLeavesNothing() throws {
        let bucket = try s3.makeBucket()
        let result = try export(to: bucket, environment: s3.environment(secret: "wrong-secret-key"))
        XCTAssertEqual(result.status, 2, result.err)
        XCTAssertTrue(result.err.contains("SignatureDoesNotMatch") && result.err.contains("secret access key"), result.err)
        XCTAssertFalse(result.err.contains("wrong-secret-key"))
        XCTAssertEqual(try listing(bucket), [:])
        let missing = try export(to: "no-such-bucket-\(UUID().uuidString.prefix(6).lowercased())")
        XCTAssertEqual(missing.status, 2)
        XCTAssertTrue(missing.err.contains("NoSuchBucket"), missing.err)
    }

    func testAnInterruptedUploadIsAbortedAndNothingIsPublished() throws {
        let database = try PostgresServer.bigDatabase()
        let bucket = try s3.makeBucket()
        let config = keys.file("big.yaml")
        try "profiles:\n  - name: big\n    tables:\n      - table: big\n".write(toFile: config, atomically: true, encoding: .utf8)
        let running = try PGSealCLI.start(["export", "--db", try PostgresServer.shared().url(database: database), "--to", "s3://\(bucket)/n/",
                                           "--config", config, "--profile", "big", "--compression", "none", "--no-encrypt", "--no-sign"],
                                          environment: s3.environment())
        let uploading = try waitUntil(timeout: 60) { try uploadsInProgress(bucket) != "0" }
        XCTAssertTrue(uploading, "no multipart upload was started")
        running.signal(SIGTERM)
        let result = running.wait()
        XCTAssertEqual(result.status, 128 + SIGTERM, result.err)
        XCTAssertEqual(try listing(bucket), [:], "nothing may appear under a final key")
        XCTAssertEqual(try uploadsInProgress(bucket), "0", "the multipart upload was left behind")
    }
}

/// Uploads and reads through a proxy that breaks requests. What arrives is judged by the
/// server (which refuses a body that does not match its declared digests) and, afterwards, by
/// oracles that are not pgseal — never by pgseal's own sidecar.
final class S3FaultTests: XCTestCase {
    var s3: S3Server!
    var store: TemporaryDirectory!
    let big = [ExportedTable("public.big")]

    override func setUpWithError() throws {
        s3 = try S3Server.shared()
        store = try TemporaryDirectory()
        try ExportedTable.config(profile: "big", tables: big, at: store.file("big.yaml"))
    }

    func bigExport(to bucket: String, through proxy: FaultProxy, _ extra: [String] = ["--no-encrypt", "--no-sign"]) throws -> CommandResult {
        var environment = s3.environment()
        environment["PGSEAL_S3_ENDPOINT"] = proxy.endpoint
        // 5 MiB parts that do not grow: about 32 parts, so that every kind of fault meets one.
        environment["PGSEAL_S3_PART_SIZE_MIB"] = "5"
        environment["PGSEAL_S3_PARTS_PER_TIER"] = "10000"
        return try PGSealCLI.run(["export", "--db", try PostgresServer.shared().url(database: try PostgresServer.bigDatabase()),
                                  "--to", "s3://\(bucket)/n/", "--config", store.file("big.yaml"), "--profile", "big",
                                  "--compression", "none"] + extra, environment: environment)
    }

    func testEveryKindOfUploadFaultIsCarriedThroughAndTheRowsArriveWhole() throws {
        let bucket = try s3.makeBucket()
        let proxy = try FaultProxy(upstream: s3.endpoint, rate: 0.3, seed: 42,
                                   faults: FaultProxy.Fault.transient + [.corruptBody, .corruptETag])
        let result = try bigExport(to: bucket, through: proxy)
        XCTAssertEqual(result.status, 0, "seed \(proxy.seed): \(result.err)")
        let counts = try proxy.counts()
        for fault in FaultProxy.Fault.transient + [.corruptBody, .corruptETag] {
            XCTAssertGreaterThanOrEqual(counts[fault.rawValue] ?? 0, 1, "seed \(proxy.seed): no \(fault.rawValue) fault happened: \(counts)")
        }
        // Fetched past the proxy, unpacked with tar, and compared with the database row by row.
        let key = String(result.out.trimmingCharacters(in: .newlines).dropFirst("s3://\(bucket)/".count))
        _ = try s3.boto("s3.download_file('\(bucket)', '\(key)', '\(store.file("o"))')")
        let extracted = try ExtractedArchive(tarball: store.file("o"))
        try Oracle.recomputeDigests(extracted)
        let oracle = try Oracle.compareToJsonb(extracted, database: try PostgresServer.shared().url(database: try PostgresServer.bigDatabase()), tables: big)
        XCTAssertTrue(oracle.contains("public.big: 400000 rows compared"), oracle)
        XCTAssertEqual(try s3.boto("print(len(s3.list_multipart_uploads(Bucket='\(bucket)').get('Uploads', [])))")
            .trimmingCharacters(in: .whitespacesAndNewlines), "0")
    }

    func testWhenEveryPartFailsTheExportGivesUpAndAbortsItsUpload() throws {
        let bucket = try s3.makeBucket()
        let proxy = try FaultProxy(upstream: s3.endpoint, rate: 1.0, seed: 7, only: .parts)
        let result = try bigExport(to: bucket, through: proxy)
        XCTAssertEqual(result.status, 2, result.err)
        XCTAssertTrue(result.err.contains("UploadPart") || result.err.contains("HTTP request"), result.err)
        XCTAssertGreaterThanOrEqual(try proxy.counts()["faults"] ?? 0, 6, "a part should have been tried six times")
        let objects = try s3.boto("print(len(s3.list_objects_v2(Bucket='\(bucket)').get('Contents', [])))")
        XCTAssertEqual(objects.trimmingCharacters(in: .whitespacesAndNewlines), "0")
        let uploads = try s3.boto("print(len(s3.list_multipart_uploads(Bucket='\(bucket)').get('Uploads', [])))")
        XCTAssertEqual(uploads.trimmingCharacters(in: .whitespacesAndNewlines), "0", "the failed upload was not aborted")
    }

    /// Ranged reads that fail are read again; bytes that arrive altered are never believed.
    func testReadsCarryThroughFaultsAndBytesAlteredOnTheWayAreRefused() throws {
        let bucket = try s3.makeBucket()
        let keys = try TemporaryDirectory()
        XCTAssertEqual(try PGSealCLI.run(["keygen", "--out", keys.path]).status, 0)
        let clean = try FaultProxy(upstream: s3.endpoint, rate: 0, seed: 1)
        let exported = try bigExport(to: bucket, through: clean, ["--recipients-file", keys.file("age-recipient.txt"), "--sign-key", keys.file("signing-key")])
        XCTAssertEqual(exported.status, 0, exported.err)
        let url = exported.out.trimmingCharacters(in: .newlines)
        let verify = ["verify", url, "--level", "deep", "--trusted-key", keys.file("allowed_signers"), "-i", keys.file("age-identity.txt")]
        func environment(_ proxy: FaultProxy) -> [String: String] {
            var environment = s3.environment()
            environment["PGSEAL_S3_ENDPOINT"] = proxy.endpoint
            return environment
        }
        let flaky = try FaultProxy(upstream: s3.endpoint, rate: 0.3, seed: 11, only: .reads)
        let survived = try PGSealCLI.run(verify, environment: environment(flaky))
        XCTAssertEqual(survived.status, 0, "seed \(flaky.seed): \(survived.err)")
        let faults = try flaky.counts()
        XCTAssertGreaterThanOrEqual(faults["faults"] ?? 0, 3, "seed \(flaky.seed): too few faulted reads to prove anything: \(faults)")

        let altering = try FaultProxy(upstream: s3.endpoint, rate: 1.0, seed: 12, only: .objectReads, faults: [.corruptRead])
        let refused = try PGSealCLI.run(verify, environment: environment(altering))
        XCTAssertEqual(refused.status, 1, refused.err)
        XCTAssertTrue(refused.out.contains("SHA-256"), refused.out + refused.err)
        XCTAssertGreaterThanOrEqual(try altering.counts()["corrupt-read"] ?? 0, 1)
        // The object itself was never damaged.
        let direct = try PGSealCLI.run(verify, environment: s3.environment())
        XCTAssertEqual(direct.status, 0, direct.err)
    }
}

final class S3StaleUploadTests: XCTestCase {
    func testTheNextExportRemovesWhatAKilledExportLeft() throws {
        let s3 = try S3Server.shared()
        let bucket = try s3.makeBucket()
        let database = try PostgresServer.bigDatabase()
        let store = try TemporaryDirectory()
        try "profiles:\n  - name: big\n    tables:\n      - table: big\n".write(toFile: store.file("big.yaml"), atomically: true, encoding: .utf8)
        let arguments = ["export", "--db", try PostgresServer.shared().url(database: database), "--to", "s3://\(bucket)/n/",
                         "--config", store.file("big.yaml"), "--profile", "big", "--compression", "none", "--no-encrypt", "--no-sign"]
        func uploads() throws -> String {
            try s3.boto("print(len(s3.list_multipart_uploads(Bucket='\(bucket)').get('Uploads', [])))").trimmingCharacters(in: .whitespacesAndNewlines)
        }
        let killed = try PGSealCLI.start(arguments, environment: s3.environment())
        XCTAssertTrue(try waitUntil(timeout: 60) { try uploads() != "0" }, "no upload started")
        killed.signal(SIGKILL)
        _ = killed.wait()
        XCTAssertEqual(try uploads(), "1", "SIGKILL cannot clean up: one incomplete upload is left")
        let listed = try PGSealCLI.run(["list", "s3://\(bucket)/n/", "--json"], environment: s3.environment())
        let catalog = try JSONSerialization.jsonObject(with: listed.stdout) as? [String: Any]
        let pending = catalog?["uploads"] as? [[String: Any]] ?? []
        XCTAssertEqual(pending.count, 1, listed.out + listed.err)
        XCTAssertTrue((pending.first?["key"] as? String ?? "").hasPrefix("big/"), listed.out)
        var environment = s3.environment()
        environment["PGSEAL_STALE_UPLOAD_HOURS"] = "0"
        let next = try PGSealCLI.run(arguments, environment: environment)
        XCTAssertEqual(next.status, 0, next.err)
        XCTAssertTrue(next.err.contains("removed 1 incomplete upload"), next.err)
        XCTAssertEqual(try uploads(), "0")
    }
}

final class S3ObjectOptionsTests: XCTestCase {
    func testEncryptionStorageClassRetentionAndTagsReachEveryObject() throws {
        let s3 = try S3Server.shared()
        let bucket = "pgseal-lock-\(UUID().uuidString.prefix(8).lowercased())"
        _ = try s3.boto("s3.create_bucket(Bucket='\(bucket)', ObjectLockEnabledForBucket=True)")
        let keys = try TemporaryDirectory()
        XCTAssertEqual(try PGSealCLI.run(["keygen", "--out", keys.path]).status, 0)
        var environment = s3.environment()
        environment["PGSEAL_S3_SSE"] = "AES256"
        environment["PGSEAL_S3_STORAGE_CLASS"] = "STANDARD_IA"
        environment["PGSEAL_S3_OBJECT_LOCK_MODE"] = "GOVERNANCE"
        environment["PGSEAL_S3_RETAIN_DAYS"] = "30"
        environment["PGSEAL_S3_TAGS"] = "team=data,kind=pgseal"
        let result = try PGSealCLI.run(["export", "--profile", "kessan-user-data", "--db", try ExportFixture.url(), "--to", "s3://\(bucket)/x/",
                                        "--recipients-file", keys.file("age-recipient.txt"), "--sign-key", keys.file("signing-key")],
                                       environment: environment)
        XCTAssertEqual(result.status, 0, result.err)
        let key = String(result.out.trimmingCharacters(in: .newlines).dropFirst("s3://\(bucket)/".count))
        for suffix in ["", ".seal", ".seal.sig"] {
            let head = try s3.boto("""
                h = s3.head_object(Bucket='\(bucket)', Key='\(key)\(suffix)')
                t = s3.get_object_tagging(Bucket='\(bucket)', Key='\(key)\(suffix)')['TagSet']
                print(h.get('ServerSideEncryption'), h.get('StorageClass'), h.get('ObjectLockMode'), sorted((x['Key'], x['Value']) for x in t))
                """)
            XCTAssertEqual(head.trimmingCharacters(in: .whitespacesAndNewlines),
                           "AES256 STANDARD_IA GOVERNANCE [('kind', 'pgseal'), ('team', 'data')]", "object \(key)\(suffix)")
        }
        var bad = s3.environment()
        bad["PGSEAL_S3_OBJECT_LOCK_MODE"] = "FOREVER"
        let refused = try PGSealCLI.run(["export", "--profile", "kessan-user-data", "--db", try ExportFixture.url(), "--to", "s3://\(bucket)/x/", "--no-encrypt", "--no-sign"], environment: bad)
        XCTAssertEqual(refused.status, 2)
        XCTAssertTrue(refused.err.contains("GOVERNANCE or COMPLIANCE"), refused.err)
    }
}

final class S3SettingsTests: XCTestCase {
    func testTheEndpointComesFromTheFlagOrTheConfigFile() throws {
        let s3 = try S3Server.shared()
        let bucket = try s3.makeBucket()
        var environment = s3.environment()
        environment["PGSEAL_S3_ENDPOINT"] = ""
        let store = try TemporaryDirectory()
        let base = ["export", "--profile", "kessan-user-data", "--db", try ExportFixture.url(), "--to", "s3://\(bucket)/p/", "--no-encrypt", "--no-sign"]
        let flag = try PGSealCLI.run(base + ["--endpoint-url", s3.endpoint, "--region", "us-east-1"], environment: environment)
        XCTAssertEqual(flag.status, 0, flag.err)
        Thread.sleep(forTimeInterval: 1.1)
        try "s3_endpoint: \(s3.endpoint)\n".write(toFile: store.file("c.yaml"), atomically: true, encoding: .utf8)
        let file = try PGSealCLI.run(base + ["--config", store.file("c.yaml")], environment: environment)
        XCTAssertEqual(file.status, 0, file.err)
        XCTAssertNotEqual(flag.out, file.out)
        let unreachable = try PGSealCLI.run(base + ["--endpoint-url", "http://127.0.0.1:1"], environment: environment)
        XCTAssertEqual(unreachable.status, 2)
        XCTAssertTrue(unreachable.err.contains("127.0.0.1:1"), unreachable.err)
    }
}
