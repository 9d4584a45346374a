import Foundation
import TestSupport
import XCTest

/// PGSealKit as a library user meets it: Examples/VerifyNewest, built with the package, run.
final class LibraryTests: XCTestCase {
    func testTheExampleVerifiesTheNewestArchiveAndTellsBadFromUnavailable() throws {
        let example = ((Repository.pgsealBinary as NSString).deletingLastPathComponent as NSString).appendingPathComponent("pgseal-example-verify-newest")
        let work = try TemporaryDirectory()
        XCTAssertEqual(try PGSealCLI.run(["keygen", "--out", work.file("keys")]).status, 0)
        let exported = try PGSealCLI.run(["export", "--profile", "kessan-user-data", "--db", try ExportFixture.url(), "--to", work.file("store"),
                                          "-R", work.file("keys/age-recipient.txt"), "--sign-key", work.file("keys/signing-key")])
        XCTAssertEqual(exported.status, 0, exported.err)
        let archive = exported.out.trimmingCharacters(in: .newlines)
        let verified = try Command.run([example, work.file("store"), "kessan-user-data", work.file("keys/allowed_signers")])
        XCTAssertEqual(verified.status, 0, verified.err)
        XCTAssertEqual(verified.out, "verified: \(archive)\n")
        var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: archive)))
        bytes[bytes.count / 2] ^= 1
        try Data(bytes).write(to: URL(fileURLWithPath: archive))
        let bad = try Command.run([example, work.file("store"), "kessan-user-data", work.file("keys/allowed_signers")])
        XCTAssertEqual(bad.status, 1, bad.out + bad.err)
        XCTAssertTrue(bad.out.contains("SHA-256"), bad.out)
        let unavailable = try Command.run([example, work.file("no-such-store"), "kessan-user-data", work.file("keys/allowed_signers")])
        XCTAssertEqual(unavailable.status, 2, unavailable.out + unavailable.err)
    }
}

/// Examples/EmbeddedService: a host program configures S3 through `StoreSettings` alone, runs an
/// export and a deep verification, and keeps its own SIGTERM handler.
final class EmbeddingTests: XCTestCase {
    func testAServiceConfiguresS3ItselfAndKeepsItsOwnSignalHandler() throws {
        let example = ((Repository.pgsealBinary as NSString).deletingLastPathComponent as NSString).appendingPathComponent("pgseal-example-embedded-service")
        let s3 = try S3Server.shared()
        let bucket = try s3.makeBucket()
        let work = try TemporaryDirectory()
        XCTAssertEqual(try PGSealCLI.run(["keygen", "--out", work.file("keys")]).status, 0)
        let settings: [String: String] = [
            "endpoint": s3.endpoint, "region": "us-east-1", "accessKeyID": s3.accessKeyID, "secretAccessKey": s3.secretAccessKey,
            "store": "s3://\(bucket)/embedded/", "database": try ExportFixture.url(), "profile": "kessan-user-data",
            "recipientsFile": work.file("keys/age-recipient.txt"), "signKey": work.file("keys/signing-key"),
            "allowedSigners": work.file("keys/allowed_signers"), "identity": work.file("keys/age-identity.txt"),
        ]
        try JSONSerialization.data(withJSONObject: settings).write(to: URL(fileURLWithPath: work.file("service.json")))
        // An environment that would mislead any library code reading it: a dead endpoint, wrong keys.
        let misleading = ["PGSEAL_S3_ENDPOINT": "http://127.0.0.1:1", "AWS_ENDPOINT_URL": "http://127.0.0.1:1",
                          "AWS_ACCESS_KEY_ID": "AKIDWRONG", "AWS_SECRET_ACCESS_KEY": "wrong", "PGSEAL_CONFIG": work.file("no-such.yaml")]
        let run = try Command.run([example, work.file("service.json")], environment: misleading)
        XCTAssertEqual(run.status, 0, run.out + run.err)
        XCTAssertTrue(run.out.contains("verified at level deep: s3://\(bucket)/embedded/kessan-user-data/"), run.out)
        XCTAssertTrue(run.out.contains("host: SIGTERM handled by the service's own handler"), run.out)
        // What the service wrote is an archive like any other: the command line verifies it.
        let archive = try XCTUnwrap(run.out.split(separator: "\n").first { $0.hasPrefix("exported: ") }).dropFirst("exported: ".count)
        let verified = try PGSealCLI.run(["verify", String(archive), "--level", "seal", "--trusted-key", work.file("keys/allowed_signers")],
                                         environment: s3.environment())
        XCTAssertEqual(verified.status, 0, verified.err)
    }
}
