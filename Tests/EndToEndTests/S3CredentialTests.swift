import Foundation
import TestSupport
import XCTest

/// Each credential source against an endpoint that speaks its protocol, with every S3 request
/// then checked by the server with the temporary credentials (and their session token).
final class S3CredentialTests: XCTestCase {
    var s3: S3Server!
    var bucket: String!
    var scratch: TemporaryDirectory!

    override func setUpWithError() throws {
        s3 = try S3Server.shared()
        bucket = try s3.makeBucket()
        scratch = try TemporaryDirectory()
    }

    /// No static keys, no shared files, no instance metadata: only the source under test.
    func bareEnvironment() -> [String: String] {
        ["PGSEAL_S3_ENDPOINT": s3.endpoint, "AWS_REGION": "us-east-1", "AWS_ACCESS_KEY_ID": "", "AWS_SECRET_ACCESS_KEY": "",
         "AWS_SESSION_TOKEN": "", "AWS_PROFILE": "", "AWS_SHARED_CREDENTIALS_FILE": scratch.file("none"),
         "AWS_CONFIG_FILE": scratch.file("none"), "AWS_EC2_METADATA_DISABLED": "true"]
    }

    func export(_ environment: [String: String], database: String? = nil) throws -> CommandResult {
        var arguments = ["export", "--profile", "kessan-user-data", "--db", try database.map { try PostgresServer.shared().url(database: $0) } ?? ExportFixture.url(),
                         "--to", "s3://\(bucket!)/c/", "--no-encrypt", "--no-sign"]
        if database != nil {
            try "profiles:\n  - name: big\n    tables:\n      - table: big\n".write(toFile: scratch.file("big.yaml"), atomically: true, encoding: .utf8)
            arguments += ["--config", scratch.file("big.yaml"), "--profile", "big", "--compression", "none"]
        }
        return try PGSealCLI.run(arguments, environment: environment)
    }

    func objectCount() throws -> Int {
        Int(try s3.boto("print(len(s3.list_objects_v2(Bucket='\(bucket!)').get('Contents', [])))")
            .trimmingCharacters(in: .whitespacesAndNewlines)) ?? -1
    }

    /// A credential source handing out credentials that live three seconds past pgseal's
    /// five-minute renewal margin (whole seconds, as AWS writes them: renewal is due two to
    /// three seconds after a hand-out), and the fault proxy in front of the S3 server refusing any
    /// credentials handed out more than `refuseAfter` seconds ago: a client that does not renew
    /// in time is refused within seconds, not within five minutes.
    struct RenewingSource {
        let server: LoopbackServer
        let proxy: FaultProxy
        let log: String
        static let refuseAfter = 5.0

        /// Access key id, hand-out time and the proof the client gave, one per hand-out.
        var handOuts: [(key: String, proof: String)] {
            ((try? String(contentsOfFile: log, encoding: .utf8)) ?? "").split(separator: "\n").map { line in
                let fields = line.split(separator: " ").map(String.init)
                return (fields.first ?? "", fields.count > 2 ? fields[2] : "")
            }
        }
    }

    func renewingSource(_ mode: String, token: String? = nil) throws -> RenewingSource {
        let log = scratch.file("handed-out-\(UUID().uuidString)")
        FileManager.default.createFile(atPath: log, contents: nil)
        let server = try LoopbackServer(script: "Tests/EndToEndTests/Credentials/credential_server.py",
                                        arguments: [mode, s3.endpoint, s3.accessKeyID, s3.secretAccessKey, try s3.makeRole(), log] + (token.map { [$0] } ?? []),
                                        environment: ["PGSEAL_TEST_LIFETIME": "303"])
        // 0.2 s per request (a slower network) makes the export last several renewal periods.
        let proxy = try FaultProxy(upstream: s3.endpoint, rate: 0, seed: 1, expiryLog: log, refuseAfter: RenewingSource.refuseAfter, delay: 0.2)
        return RenewingSource(server: server, proxy: proxy, log: log)
    }

    /// Exports the big table through `source`'s proxy and checks what a renewing client must
    /// show: it outlived the first credentials, was never refused for expired ones, renewed,
    /// and did not fetch credentials for every request (at most one hand-out per two seconds,
    /// the shortest renewal period, plus the first).
    func assertRenews(_ source: RenewingSource, _ environment: [String: String], during: ((RunningCommand) throws -> Void)? = nil) throws {
        var environment = environment
        environment["PGSEAL_S3_ENDPOINT"] = source.proxy.endpoint
        environment["PGSEAL_S3_PART_SIZE_MIB"] = "5"
        environment["PGSEAL_S3_PARTS_PER_TIER"] = "10000"
        try "profiles:\n  - name: big\n    tables:\n      - table: big\n".write(toFile: scratch.file("big.yaml"), atomically: true, encoding: .utf8)
        // 800,000 rows, about 320 MiB: an export of several renewal periods on this machine.
        let database = try PostgresServer.bigDatabase(rows: 800_000)
        let started = Date()
        let running = try PGSealCLI.start(["export", "--db", try PostgresServer.shared().url(database: database),
                                           "--to", "s3://\(bucket!)/c/", "--no-encrypt", "--no-sign",
                                           "--config", scratch.file("big.yaml"), "--profile", "big", "--compression", "none"], environment: environment)
        try during?(running)
        let result = running.wait()
        let elapsed = Date().timeIntervalSince(started)
        XCTAssertEqual(result.status, 0, result.err)
        let counts = try source.proxy.counts()
        let handOuts = source.handOuts
        XCTAssertGreaterThan(elapsed, RenewingSource.refuseAfter + 1, "the export must outlive the first credentials for this test to prove renewal")
        XCTAssertEqual(counts["expired", default: 0], 0, "requests were signed with credentials that should have been renewed: \(counts)")
        XCTAssertGreaterThanOrEqual(Set(handOuts.map(\.key)).count, 2, "the credentials were never renewed: \(handOuts)")
        XCTAssertLessThanOrEqual(handOuts.count, Int(elapsed / 2) + 2, "credentials fetched more often than they expire: \(handOuts.count) in \(elapsed) s")
        XCTAssertGreaterThan(counts["requests", default: 0], handOuts.count * 2, "\(counts)")
        XCTAssertEqual(try objectCount(), 2)
    }

    func testNoCredentialsAnywhereIsAClearError() throws {
        let result = try export(bareEnvironment())
        XCTAssertEqual(result.status, 2, result.err)
        XCTAssertTrue(result.err.contains("no AWS credentials found") && result.err.contains("web identity"), result.err)
    }

    func testASharedProfileInTheCredentialsFileIsUsed() throws {
        var environment = bareEnvironment()
        try "[nightly]\naws_access_key_id = \(s3.accessKeyID)\naws_secret_access_key = \(s3.secretAccessKey)\n"
            .write(toFile: scratch.file("credentials"), atomically: true, encoding: .utf8)
        try "[profile nightly]\nregion = us-east-1\n".write(toFile: scratch.file("config"), atomically: true, encoding: .utf8)
        environment["AWS_SHARED_CREDENTIALS_FILE"] = scratch.file("credentials")
        environment["AWS_CONFIG_FILE"] = scratch.file("config")
        environment["AWS_REGION"] = ""
        environment["AWS_PROFILE"] = "nightly"
        let result = try export(environment)
        XCTAssertEqual(result.status, 0, result.err)
        XCTAssertEqual(try objectCount(), 2)  // the archive and its .sha256
    }

    func testWebIdentityAssumesTheRoleThroughSTS() throws {
        var environment = bareEnvironment()
        try "eyJhbGciOiJSUzI1NiJ9.test-oidc-token.signature".write(toFile: scratch.file("token"), atomically: true, encoding: .utf8)
        environment["AWS_WEB_IDENTITY_TOKEN_FILE"] = scratch.file("token")
        environment["AWS_ROLE_ARN"] = try s3.makeRole()
        environment["AWS_ENDPOINT_URL_STS"] = s3.endpoint
        try s3.allowUnsignedCalls(1)
        let result = try export(environment)
        XCTAssertEqual(result.status, 0, result.err)
        XCTAssertEqual(try objectCount(), 2)

        environment["AWS_WEB_IDENTITY_TOKEN_FILE"] = scratch.file("no-such-token")
        let missing = try export(environment)
        XCTAssertEqual(missing.status, 2)
        XCTAssertTrue(missing.err.contains("cannot read the token file") && missing.err.contains("AWS_WEB_IDENTITY_TOKEN_FILE"), missing.err)
    }

    func testContainerCredentialsAreRenewedDuringALongUpload() throws {
        let source = try renewingSource("container", token: "container-secret-token")
        try "container-secret-token\n".write(toFile: scratch.file("container-token"), atomically: true, encoding: .utf8)
        var environment = bareEnvironment()
        environment["AWS_CONTAINER_CREDENTIALS_FULL_URI"] = source.server.url + "/v2/credentials/task"
        environment["AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE"] = scratch.file("container-token")
        try assertRenews(source, environment)

        environment["AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE"] = ""
        environment["AWS_CONTAINER_AUTHORIZATION_TOKEN"] = "wrong-token"
        let refused = try export(environment)
        XCTAssertEqual(refused.status, 2)
        XCTAssertTrue(refused.err.contains("container endpoint") && refused.err.contains("401"), refused.err)

        environment["AWS_CONTAINER_CREDENTIALS_FULL_URI"] = "http://example.com/credentials"
        let remote = try export(environment)
        XCTAssertEqual(remote.status, 2)
        XCTAssertTrue(remote.err.contains("neither https nor a loopback"), remote.err)
    }

    func testInstanceMetadataV2CredentialsAreRenewedDuringALongUpload() throws {
        let source = try renewingSource("imds")
        var environment = bareEnvironment()
        environment["AWS_EC2_METADATA_DISABLED"] = ""
        environment["AWS_EC2_METADATA_SERVICE_ENDPOINT"] = source.server.url
        try assertRenews(source, environment)
        XCTAssertTrue(source.handOuts.allSatisfy { $0.proof.hasPrefix("imds-session-") }, "\(source.handOuts)")
    }

    /// EKS rotates the projected token file; each renewal must read it again.
    func testWebIdentityCredentialsAreRenewedWithTheRotatedToken() throws {
        let source = try renewingSource("sts")
        try "web-identity-token-1\n".write(toFile: scratch.file("token"), atomically: true, encoding: .utf8)
        var environment = bareEnvironment()
        environment["AWS_WEB_IDENTITY_TOKEN_FILE"] = scratch.file("token")
        environment["AWS_ROLE_ARN"] = try s3.makeRole()
        environment["AWS_ENDPOINT_URL_STS"] = source.server.url
        try assertRenews(source, environment) { _ in
            XCTAssertTrue(waitUntil(timeout: 30) { !source.handOuts.isEmpty }, "no credentials were fetched")
            try "web-identity-token-2\n".write(toFile: self.scratch.file("token"), atomically: true, encoding: .utf8)
        }
        let proofs = source.handOuts.map(\.proof)
        XCTAssertEqual(proofs.first, "web-identity-token-1", "\(proofs)")
        XCTAssertEqual(proofs.last, "web-identity-token-2", "the rotated token was not read again: \(proofs)")
    }
}

/// HTTPS endpoints: peer verification always on, `--ca-bundle` to trust a private CA.
final class S3TLSTests: XCTestCase {
    func testAPrivateCAIsTrustedOnlyWhenGiven() throws {
        let s3 = try S3Server.shared()
        let bucket = try s3.makeBucket()
        let certs = try TemporaryDirectory()
        let made = try Command.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                                    "-keyout", certs.file("key.pem"), "-out", certs.file("cert.pem"), "-days", "1",
                                    "-subj", "/CN=pgseal test CA", "-addext", "subjectAltName=IP:127.0.0.1"])
        XCTAssertEqual(made.status, 0, made.err)
        let proxy = try FaultProxy(upstream: s3.endpoint, rate: 0, seed: 1, tls: (certs.file("cert.pem"), certs.file("key.pem")))
        var environment = s3.environment()
        environment["PGSEAL_S3_ENDPOINT"] = proxy.endpoint
        let arguments = ["export", "--profile", "kessan-user-data", "--db", try ExportFixture.url(), "--to", "s3://\(bucket)/tls/", "--no-encrypt", "--no-sign"]
        let untrusted = try PGSealCLI.run(arguments, environment: environment)
        XCTAssertEqual(untrusted.status, 2, untrusted.err)
        XCTAssertTrue(untrusted.err.contains("certificate"), untrusted.err)
        let trusted = try PGSealCLI.run(arguments + ["--ca-bundle", certs.file("cert.pem")], environment: environment)
        XCTAssertEqual(trusted.status, 0, trusted.err)
        let listed = try PGSealCLI.run(["list", "s3://\(bucket)/tls/", "--ca-bundle", certs.file("cert.pem")], environment: environment)
        XCTAssertEqual(listed.status, 0, listed.err)
        XCTAssertTrue(listed.out.contains("incomplete"), listed.out)
    }
}
