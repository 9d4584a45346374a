import Foundation
import TestSupport
import XCTest

/// `pgseal list` and `pgseal check`: the monitor's exit codes, alerts and metrics for fresh,
/// late, missing, corrupted and unsealed archives.
final class CheckTests: XCTestCase {
    var keys: TemporaryDirectory!
    var store: TemporaryDirectory!

    override func setUpWithError() throws {
        keys = try TemporaryDirectory()
        store = try TemporaryDirectory()
        XCTAssertEqual(try PGSealCLI.run(["keygen", "--out", keys.path]).status, 0)
    }

    func export() throws -> String {
        let result = try PGSealCLI.run(["export", "--profile", "kessan-user-data", "--db", try ExportFixture.url(), "--to", store.path,
                                        "--recipients-file", keys.file("age-recipient.txt"), "--sign-key", keys.file("signing-key")])
        XCTAssertEqual(result.status, 0, result.err)
        return result.out.trimmingCharacters(in: .newlines)
    }

    func check(_ extra: [String]) throws -> CommandResult {
        try PGSealCLI.run(["check", store.path, "--trusted-key", keys.file("allowed_signers")] + extra)
    }

    /// Starts the webhook receiver; returns its URL and the file its POST bodies go to.
    func receiver() throws -> (String, String, LoopbackServer) {
        let bodies = store.file("../hooks-\(UUID().uuidString)")
        let server = try LoopbackServer(script: "Tests/EndToEndTests/Webhook/receiver.py", arguments: [bodies])
        return (server.url + "/hook", bodies, server)
    }

    func testFreshArchivesPassAndWriteMetrics() throws {
        let archive = try export()
        let listed = try PGSealCLI.run(["list", store.path, "--trusted-key", keys.file("allowed_signers")])
        XCTAssertTrue(listed.out.split(separator: "\n").contains { $0.contains(" rows  ") && $0.hasSuffix(archive) }, listed.out)
        XCTAssertTrue(listed.out.contains("public.user_watchlist 10,004"), "rows per table: \(listed.out)")
        let result = try check(["--max-age", "1h", "--metrics-file", store.file("../m.prom")])
        XCTAssertEqual(result.status, 0, result.out + result.err)
        let metrics = try String(contentsOfFile: store.file("../m.prom"), encoding: .utf8)
        XCTAssertTrue(metrics.contains("pgseal_archive_ok{profile=\"kessan-user-data\"} 1"), metrics)
        XCTAssertTrue(metrics.contains("pgseal_archive_rows{profile=\"kessan-user-data\",table=\"public.user_watchlist\"} 10004"), metrics)
        XCTAssertTrue(metrics.contains("pgseal_last_success_timestamp_seconds{profile=\"kessan-user-data\"}"), metrics)
        XCTAssertTrue(metrics.contains("pgseal_archive_verified{profile=\"kessan-user-data\"} 1"), metrics)
        assertWellFormedPrometheusText(metrics)
    }

    /// A verification that cannot even run (here: a deep check with an identity the archive
    /// is not encrypted to) counts as failed — exit 1, `pgseal_archive_ok 0` — so that a good
    /// value from yesterday is not left standing (SECURITY.md).
    func testAVerificationThatCannotRunCountsAsFailed() throws {
        _ = try export()
        let metrics = store.file("../unrunnable.prom")
        XCTAssertEqual(try check(["--max-age", "1h", "--metrics-file", metrics]).status, 0)
        XCTAssertTrue(try String(contentsOfFile: metrics, encoding: .utf8).contains("pgseal_archive_ok{profile=\"kessan-user-data\"} 1"))
        let stranger = try TemporaryDirectory()
        XCTAssertEqual(try PGSealCLI.run(["keygen", "--out", stranger.path]).status, 0)
        let result = try check(["--max-age", "1h", "--level", "deep", "-i", stranger.file("age-identity.txt"), "--metrics-file", metrics, "--json"])
        XCTAssertEqual(result.status, 1, result.out + result.err)
        XCTAssertEqual(try JSONDocument(data: result.stdout)["profiles"].array()[0]["status"].string(), "failed", result.out)
        let published = try String(contentsOfFile: metrics, encoding: .utf8)
        XCTAssertTrue(published.contains("pgseal_archive_ok{profile=\"kessan-user-data\"} 0"), published)
    }

    /// Every sample follows its metric's HELP and TYPE, and a metric's samples stand together.
    func assertWellFormedPrometheusText(_ text: String, file: StaticString = #filePath, line: UInt = #line) {
        var current: String?
        var finished = Set<String>()
        var helped = Set<String>()
        for row in text.split(separator: "\n").map(String.init) {
            let fields = row.split(separator: " ").map(String.init)
            if row.hasPrefix("# HELP ") {
                if let current { finished.insert(current) }
                helped.insert(fields[2])
                current = nil
            } else if row.hasPrefix("# TYPE ") {
                XCTAssertTrue(helped.contains(fields[2]), "TYPE before HELP: \(row)", file: file, line: line)
                XCTAssertEqual(fields.last, "gauge", file: file, line: line)
                current = fields[2]
            } else {
                let name = String(row.prefix { $0 != "{" && $0 != " " })
                XCTAssertEqual(name, current, "a sample outside its metric's block: \(row)", file: file, line: line)
                XCTAssertFalse(finished.contains(name), "metric \(name) is split: \(row)", file: file, line: line)
                XCTAssertNotNil(Double(fields.last ?? ""), "not a number: \(row)", file: file, line: line)
            }
        }
    }

    func testAFailedCheckPublishesToAnSNSTopic() throws {
        let s3 = try S3Server.shared()
        let queue = "pgseal-alerts-\(UUID().uuidString.prefix(8).lowercased())"
        let topic = try s3.boto("""
            sns = boto3.client('sns', endpoint_url=sys.argv[1], region_name='us-east-1', aws_access_key_id=sys.argv[2], aws_secret_access_key=sys.argv[3])
            sqs = boto3.client('sqs', endpoint_url=sys.argv[1], region_name='us-east-1', aws_access_key_id=sys.argv[2], aws_secret_access_key=sys.argv[3])
            topic = sns.create_topic(Name='\(queue)')['TopicArn']
            url = sqs.create_queue(QueueName='\(queue)')['QueueUrl']
            arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=['QueueArn'])['Attributes']['QueueArn']
            sns.subscribe(TopicArn=topic, Protocol='sqs', Endpoint=arn, Attributes={'RawMessageDelivery': 'true'})
            print(topic)
            """).trimmingCharacters(in: .whitespacesAndNewlines)
        var environment = s3.environment()
        environment["AWS_ENDPOINT_URL_SNS"] = s3.endpoint
        let result = try PGSealCLI.run(["check", store.path, "--max-age", "1h", "--trusted-key", keys.file("allowed_signers"),
                                        "--alert-sns-topic", topic], environment: environment)
        XCTAssertEqual(result.status, 1, result.out + result.err)
        let received = try s3.boto("""
            sqs = boto3.client('sqs', endpoint_url=sys.argv[1], region_name='us-east-1', aws_access_key_id=sys.argv[2], aws_secret_access_key=sys.argv[3])
            url = sqs.get_queue_url(QueueName='\(queue)')['QueueUrl']
            for m in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=2).get('Messages', []): print(m['Body'])
            """)
        XCTAssertTrue(received.contains("pgseal check of \(store.path) failed") && received.contains("no archive at all"), received)

        let badTopic = try PGSealCLI.run(["check", store.path, "--max-age", "1h", "--trusted-key", keys.file("allowed_signers"),
                                          "--alert-sns-topic", "arn:aws:sns:us-east-1:123456789012:no-such-topic"], environment: environment)
        XCTAssertEqual(badTopic.status, 2, badTopic.err)
        XCTAssertTrue(badTopic.err.contains("SNS Publish failed"), badTopic.err)
    }

    func testLateMissingAndCorruptedArchivesFailAndAlert() throws {
        let (hook, bodies, server) = try receiver()
        defer { withExtendedLifetime(server) {} }
        let empty = try check(["--max-age", "1h", "--alert-webhook", hook])
        XCTAssertEqual(empty.status, 1, empty.out + empty.err)
        XCTAssertTrue(empty.out.contains("no archive of any profile"), empty.out)

        let archive = try export()
        Thread.sleep(forTimeInterval: 2.1)
        let late = try check(["--max-age", "1s", "--alert-webhook", hook, "--metrics-file", store.file("../late.prom")])
        XCTAssertEqual(late.status, 1, late.out + late.err)
        XCTAssertTrue(late.out.contains("kessan-user-data: late"), late.out)
        XCTAssertTrue(try String(contentsOfFile: store.file("../late.prom"), encoding: .utf8).contains("pgseal_archive_ok{profile=\"kessan-user-data\"} 0"))

        let missing = try check(["--max-age", "1h", "--profile", "billing", "--alert-webhook", hook])
        XCTAssertEqual(missing.status, 1)
        XCTAssertTrue(missing.out.contains("billing: missing"), missing.out)

        var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: archive)))
        bytes[bytes.count / 2] ^= 0xFF
        try Data(bytes).write(to: URL(fileURLWithPath: archive))
        let corrupted = try check(["--max-age", "1h", "--alert-webhook", hook])
        XCTAssertEqual(corrupted.status, 1)
        XCTAssertTrue(corrupted.out.contains("kessan-user-data: failed") && corrupted.out.contains("SHA-256"), corrupted.out)

        // A webhook URL is a secret: a failing one is named without its path.
        let unreachable = try check(["--max-age", "1h", "--alert-webhook", "http://127.0.0.1:9/hooks/T0/B0/SECRET-TOKEN"])
        XCTAssertEqual(unreachable.status, 2, unreachable.out + unreachable.err)
        XCTAssertTrue(unreachable.err.contains("http://127.0.0.1/***"), unreachable.err)
        XCTAssertFalse((unreachable.out + unreachable.err).contains("SECRET-TOKEN"), unreachable.err)

        let alerts = try String(contentsOfFile: bodies, encoding: .utf8).split(separator: "\n")
        XCTAssertEqual(alerts.count, 4, alerts.joined(separator: "\n"))
        let last = try JSONDocument(data: Data((alerts.last ?? "").utf8))
        XCTAssertTrue(try last["text"].string().contains("kessan-user-data: failed"), "\(last)")
    }

    func testCheckAndPruneTakeTheirSettingsFromTheConfigFileAndEnvironment() throws {
        _ = try export()
        let config = store.file("../ops-\(UUID().uuidString).yaml")
        try """
            to: \(store.path)
            max_age: 1h
            trusted_keys: [\(keys.file("allowed_signers"))]
            metrics_file: \(store.file("../ops.prom"))
            keep_days: 30
            """.write(toFile: config, atomically: true, encoding: .utf8)
        let fine = try PGSealCLI.run(["check", "--config", config])
        XCTAssertEqual(fine.status, 0, fine.out + fine.err)
        XCTAssertTrue(try String(contentsOfFile: store.file("../ops.prom"), encoding: .utf8).contains("pgseal_archive_ok"))
        // The environment overrides the file, and a flag the environment.
        Thread.sleep(forTimeInterval: 1.5)
        let late = try PGSealCLI.run(["check", "--config", config], environment: ["PGSEAL_MAX_AGE": "1s"])
        XCTAssertEqual(late.status, 1, late.out + late.err)
        let flag = try PGSealCLI.run(["check", "--config", config, "--max-age", "1h"], environment: ["PGSEAL_MAX_AGE": "1s"])
        XCTAssertEqual(flag.status, 0, flag.out + flag.err)
        let prune = try PGSealCLI.run(["prune", "--config", config, "--dry-run"])
        XCTAssertEqual(prune.status, 0, prune.err)
        XCTAssertTrue(prune.out.contains("0 archives would be deleted, 1 kept"), prune.out)
        let missing = try PGSealCLI.run(["prune", store.path])
        XCTAssertEqual(missing.status, 2)
        XCTAssertTrue(missing.err.contains("no retention") && missing.err.contains("--keep-within"), missing.err)
    }

    func testAnUnsealedNewestArchiveIsNotAnArchive() throws {
        let older = try export()
        Thread.sleep(forTimeInterval: 1.1)
        let newest = try export()
        try FileManager.default.removeItem(atPath: newest + ".seal.sig")
        let listed = try PGSealCLI.run(["list", store.path, "--json", "--trusted-key", keys.file("allowed_signers")])
        let json = try JSONDocument(data: listed.stdout)
        XCTAssertEqual(try json["sealed"].array().map { try $0["location"].string() }, [older])
        XCTAssertEqual(try json["incomplete"].array().map { try $0["location"].string() }, [newest])
        let result = try check(["--max-age", "1h"])
        XCTAssertEqual(result.status, 0, result.out + result.err)
        XCTAssertTrue(result.out.contains(older), "check must judge the newest *sealed* archive: \(result.out)")
    }
}
