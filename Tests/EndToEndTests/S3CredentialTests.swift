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
        var arguments = ["export", "--db", try database.map { try PostgresServer.shared().url(database: $0) } ?? ExportFixture.url(),
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

    /// Credentials live one second past pgseal's five-minute renewal margin: any upload longer
    /// than that must renew them.
    func credentialServer(_ mode: String, token: String? = nil) throws -> (LoopbackServer, String) {
        let log = scratch.file("handed-out-\(UUID().uuidString)")
        FileManager.default.createFile(atPath: log, contents: nil)
        let server = try LoopbackServer(script: "Tests/EndToEndTests/Credentials/credential_server.py",
                                        arguments: [mode, s3.endpoint, s3.accessKeyID, s3.secretAccessKey, try s3.makeRole(), log] + (token.map { [$0] } ?? []),
                                        environment: ["PGSEAL_TEST_LIFETIME": "301"])
        return (server, log)
    }

    func handedOut(_ log: String) -> [String] {
        ((try? String(contentsOfFile: log, encoding: .utf8)) ?? "").split(separator: "\n").map(String.init)
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
        let (server, log) = try credentialServer("container", token: "container-secret-token")
        defer { withExtendedLifetime(server) {} }
        try "container-secret-token\n".write(toFile: scratch.file("container-token"), atomically: true, encoding: .utf8)
        var environment = bareEnvironment()
        environment["AWS_CONTAINER_CREDENTIALS_FULL_URI"] = server.url + "/v2/credentials/task"
        environment["AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE"] = scratch.file("container-token")
        let started = Date()
        let result = try export(environment, database: try ExportInterruptionTests.bigDatabase())
        XCTAssertEqual(result.status, 0, result.err)
        let keys = handedOut(log)
        XCTAssertGreaterThan(Date().timeIntervalSince(started), 2, "the export should outlast the first credentials")
        XCTAssertGreaterThanOrEqual(Set(keys).count, 2, "the credentials were never renewed: \(keys)")
        XCTAssertEqual(try objectCount(), 2)

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

    func testInstanceMetadataV2CredentialsAreUsed() throws {
        let (server, log) = try credentialServer("imds")
        defer { withExtendedLifetime(server) {} }
        var environment = bareEnvironment()
        environment["AWS_EC2_METADATA_DISABLED"] = ""
        environment["AWS_EC2_METADATA_SERVICE_ENDPOINT"] = server.url
        let result = try export(environment)
        XCTAssertEqual(result.status, 0, result.err)
        XCTAssertGreaterThanOrEqual(handedOut(log).count, 1)
        XCTAssertEqual(try objectCount(), 2)
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
        let proxy = try FaultProxy(upstream: s3.endpoint, rate: 0, tls: (certs.file("cert.pem"), certs.file("key.pem")))
        var environment = s3.environment()
        environment["PGSEAL_S3_ENDPOINT"] = proxy.endpoint
        let arguments = ["export", "--db", try ExportFixture.url(), "--to", "s3://\(bucket)/tls/", "--no-encrypt", "--no-sign"]
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
