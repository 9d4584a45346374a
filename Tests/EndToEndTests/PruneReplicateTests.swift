import Foundation
import TestSupport
import XCTest

/// Signed archives of the fixture, in a directory or a bucket, for prune and replicate.
class StoreTestCase: XCTestCase {
    var keys: TemporaryDirectory!
    var s3: S3Server!

    override func setUpWithError() throws {
        s3 = try S3Server.shared()
        keys = try TemporaryDirectory()
        XCTAssertEqual(try PGSealCLI.run(["keygen", "--out", keys.path]).status, 0)
    }

    /// Exports the fixture to `store` (a directory or s3:// prefix); returns the archive's location.
    func export(to store: String, environment: [String: String] = [:], database: String? = nil) throws -> String {
        var arguments = ["export", "--profile", "kessan-user-data", "--db", try database.map { try PostgresServer.shared().url(database: $0) } ?? ExportFixture.url(),
                         "--to", store, "--recipients-file", keys.file("age-recipient.txt"), "--sign-key", keys.file("signing-key")]
        if database != nil {
            try "profiles:\n  - name: big\n    tables:\n      - table: big\n".write(toFile: keys.file("big.yaml"), atomically: true, encoding: .utf8)
            arguments += ["--config", keys.file("big.yaml"), "--profile", "big", "--compression", "none"]
        }
        let result = try PGSealCLI.run(arguments, environment: s3.environment().merging(environment) { $1 })
        XCTAssertEqual(result.status, 0, result.err)
        Thread.sleep(forTimeInterval: 1.1)  // archive names have a resolution of one second
        return result.out.trimmingCharacters(in: .newlines)
    }

    func pgseal(_ arguments: [String], environment: [String: String] = [:]) throws -> CommandResult {
        try PGSealCLI.run(arguments, environment: s3.environment().merging(environment) { $1 })
    }

    func keysIn(_ bucket: String) throws -> [String] {
        try s3.boto("for o in s3.list_objects_v2(Bucket='\(bucket)').get('Contents', []): print(o['Key'])")
            .split(separator: "\n").map(String.init).sorted()
    }
}

final class PruneTests: StoreTestCase {
    func testPruneKeepsTheNewestDeletesTheRestWithSidecarsAndIsIdempotent() throws {
        let store = try TemporaryDirectory()
        let archives = try (0..<3).map { _ in try export(to: store.path) }
        let dry = try pgseal(["prune", store.path, "--keep-days", "0", "--keep-last", "1", "--dry-run", "--trusted-key", keys.file("allowed_signers")])
        XCTAssertEqual(dry.status, 0, dry.err)
        XCTAssertTrue(dry.out.contains("2 archives would be deleted"), dry.out)
        for archive in archives { XCTAssertTrue(FileManager.default.fileExists(atPath: archive + ".seal.sig"), "dry run deleted \(archive)") }

        let real = try pgseal(["prune", store.path, "--keep-days", "0", "--keep-last", "1", "--json", "--trusted-key", keys.file("allowed_signers")])
        XCTAssertEqual(real.status, 0, real.err)
        let outcome = try JSONSerialization.jsonObject(with: real.stdout) as? [String: Any]
        XCTAssertEqual((outcome?["deleted"] as? [String])?.count, 2, real.out)
        for archive in archives.dropLast() {
            for suffix in ["", ".sha256"] {
                XCTAssertFalse(FileManager.default.fileExists(atPath: archive + suffix), "\(archive)\(suffix) survived")
            }
            // The tombstone: the seal, its signature and prune's note stay for the series.
            for suffix in [".seal", ".seal.sig", ".tombstone"] {
                XCTAssertTrue(FileManager.default.fileExists(atPath: archive + suffix), "\(archive)\(suffix) is gone")
            }
        }
        let chain = try pgseal(["chain", store.path, "--trusted-key", keys.file("allowed_signers")])
        XCTAssertEqual(chain.status, 0, chain.out + chain.err)
        XCTAssertTrue(chain.out.contains("INTACT") && chain.out.contains("2 tombstones"), chain.out)
        let verify = try pgseal(["verify", try XCTUnwrap(archives.last), "--trusted-key", keys.file("allowed_signers")])
        XCTAssertEqual(verify.status, 0, verify.err)
        let again = try pgseal(["prune", store.path, "--keep-days", "0", "--keep-last", "1", "--trusted-key", keys.file("allowed_signers")])
        XCTAssertEqual(again.status, 0, again.err)
        XCTAssertTrue(again.out.contains("0 archives deleted, 1 kept"), again.out)
        // Every archive on a line of its own, with the decision and the rule behind it.
        let explained = try pgseal(["prune", store.path, "--keep-daily", "7", "--keep-last", "1", "--dry-run", "--trusted-key", keys.file("allowed_signers")])
        XCTAssertEqual(explained.status, 0, explained.err)
        let newestKey = String(try XCTUnwrap(archives.last).dropFirst(store.path.count + 1))
        let line = explained.out.split(separator: "\n").first { $0.hasSuffix(newestKey) }
        XCTAssertTrue(line.map { $0.hasPrefix("keep ") && $0.contains("last 1, daily ") } ?? false, explained.out)
        let noRule = try pgseal(["prune", store.path, "--keep-last", "3", "--trusted-key", keys.file("allowed_signers")])
        XCTAssertEqual(noRule.status, 2, noRule.err)
        XCTAssertTrue(noRule.err.contains("no retention"), noRule.err)
        // A retention of days keeps today's archive whatever --keep-last says.
        let young = try pgseal(["prune", store.path, "--keep-days", "7", "--trusted-key", keys.file("allowed_signers")])
        XCTAssertTrue(young.out.contains("0 archives deleted"), young.out)
    }

    func testPruneInABucketReportsLockedObjectsAndAbortsStaleUploads() throws {
        let bucket = "pgseal-lock-\(UUID().uuidString.prefix(8).lowercased())"
        _ = try s3.boto("s3.create_bucket(Bucket='\(bucket)', ObjectLockEnabledForBucket=True)")
        let store = "s3://\(bucket)/p/"
        let locked = ["PGSEAL_S3_OBJECT_LOCK_MODE": "GOVERNANCE", "PGSEAL_S3_RETAIN_DAYS": "1"]
        let first = try export(to: store, environment: locked)
        let second = try export(to: store)
        _ = try export(to: store)
        _ = try s3.boto("s3.create_multipart_upload(Bucket='\(bucket)', Key='p/kessan-user-data/2026/11/26/left-by-a-killed-export.tar.zst.age')")
        let result = try pgseal(["prune", store, "--keep-days", "0", "--stale-upload-hours", "0", "--trusted-key", keys.file("allowed_signers")])
        XCTAssertEqual(result.status, 0, result.err)
        let firstKey = String(first.dropFirst("s3://\(bucket)/p/".count))
        XCTAssertTrue(result.out.split(separator: "\n").contains { $0.hasPrefix("locked ") && $0.contains("under retention until") && $0.hasSuffix(firstKey) }, result.out)
        XCTAssertTrue(result.out.contains("1 archive deleted, 1 kept, 1 locked, 1 incomplete upload aborted"), result.out)
        let remaining = try keysIn(bucket)
        XCTAssertTrue(remaining.contains(String(first.dropFirst("s3://\(bucket)/".count)) + ".seal.sig"), "the locked archive lost its signature")
        let secondKey = String(second.dropFirst("s3://\(bucket)/".count))
        XCTAssertEqual(remaining.filter { $0.hasPrefix(secondKey) }, [".seal", ".seal.sig", ".tombstone"].map { secondKey + $0 },
                       "the pruned archive leaves its tombstone only")
        XCTAssertEqual(remaining.count, 11)
        XCTAssertEqual(try s3.boto("print(len(s3.list_multipart_uploads(Bucket='\(bucket)').get('Uploads', [])))")
            .trimmingCharacters(in: .whitespacesAndNewlines), "0")
    }
}

final class ReplicateTests: StoreTestCase {
    func testServerSideCopyToAnotherBucketIsProvenAndRepeatable() throws {
        let source = try s3.makeBucket()
        let destination = try s3.makeBucket()
        let archive = try export(to: "s3://\(source)/nightly/")
        let result = try pgseal(["replicate", archive, "--to", "s3://\(destination)/dr/", "--trusted-key", keys.file("allowed_signers")])
        XCTAssertEqual(result.status, 0, result.err)
        XCTAssertTrue(result.err.contains("server-side copy") && result.err.contains("proven"), result.err)
        let copy = result.out.trimmingCharacters(in: .newlines)
        XCTAssertEqual(copy, "s3://\(destination)/dr/" + archive.dropFirst("s3://\(source)/nightly/".count))
        XCTAssertEqual(try keysIn(destination).count, 4)
        let verify = try pgseal(["verify", copy, "--trusted-key", keys.file("allowed_signers"), "-i", keys.file("age-identity.txt")])
        XCTAssertEqual(verify.status, 0, verify.err)
        let again = try pgseal(["replicate", archive, "--to", "s3://\(destination)/dr/", "--trusted-key", keys.file("allowed_signers")])
        XCTAssertEqual(again.status, 0, again.err)
        XCTAssertTrue(again.err.contains("already there"), again.err)
    }

    func testLargeObjectsAreCopiedPartByPart() throws {
        let source = try s3.makeBucket()
        let destination = try s3.makeBucket()
        let archive = try export(to: "s3://\(source)/n/", database: try PostgresServer.bigDatabase())
        let result = try pgseal(["replicate", archive, "--to", "s3://\(destination)/n/", "--trusted-key", keys.file("allowed_signers")],
                                environment: ["PGSEAL_S3_COPY_PART_SIZE_MIB": "64"])
        XCTAssertEqual(result.status, 0, result.err)
        XCTAssertTrue(result.err.contains("multipart server-side copy"), result.err)
        let parts = try s3.boto("""
            key = '\(result.out.trimmingCharacters(in: .newlines).dropFirst("s3://\(destination)/".count))'
            print(s3.head_object(Bucket='\(destination)', Key=key)['ETag'].strip('"').split('-')[1])
            """)
        XCTAssertEqual(parts.trimmingCharacters(in: .whitespacesAndNewlines), "3", "a 160 MiB object in 64 MiB parts")
    }

    func testStreamedCopyToADirectoryAndATamperedSourceIsRefused() throws {
        let source = try s3.makeBucket()
        let archive = try export(to: "s3://\(source)/nightly/")
        let directory = try TemporaryDirectory()
        let result = try pgseal(["replicate", archive, "--to", directory.path, "--trusted-key", keys.file("allowed_signers")])
        XCTAssertEqual(result.status, 0, result.err)
        XCTAssertTrue(result.err.contains("streamed copy"), result.err)
        let copy = result.out.trimmingCharacters(in: .newlines)
        let check = try Command.run(["bash", "-c", "cd \"$(dirname \"$0\")\" && sha256sum -c \"$(basename \"$0\").sha256\"", copy])
        XCTAssertEqual(check.status, 0, check.out + check.err)

        let key = String(archive.dropFirst("s3://\(source)/".count))
        _ = try s3.boto("""
            body = bytearray(s3.get_object(Bucket='\(source)', Key='\(key)')['Body'].read()); body[500] ^= 1
            s3.put_object(Bucket='\(source)', Key='\(key)', Body=bytes(body))
            """)
        let destination = try s3.makeBucket()
        let tampered = try pgseal(["replicate", archive, "--to", "s3://\(destination)/dr/", "--trusted-key", keys.file("allowed_signers")])
        XCTAssertEqual(tampered.status, 1, tampered.err)
        XCTAssertTrue(tampered.err.contains("not the sealed object"), tampered.err)
        XCTAssertEqual(try keysIn(destination), [], "nothing may be left at the destination")
    }
}
