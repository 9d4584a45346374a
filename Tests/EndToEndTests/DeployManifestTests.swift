import Cryptography
import Foundation
import TestSupport
import XCTest

/// The Kubernetes and AWS Batch definitions of docs/deploy/ (docs/OPERATIONS.md §12): valid
/// against the APIs' own schemas (kubernetes-validate --strict; botocore's model of AWS Batch),
/// and their pgseal command lines run here, coordinator and eight indexed workers, as the
/// schedulers would run them.
final class DeployManifestTests: XCTestCase {
    let kubernetes = Repository.path("docs/deploy/kubernetes-partitioned-export.yaml")
    let batch = Repository.path("docs/deploy/aws-batch-partitioned-export.json")

    static let batchCheck = """
        import json, sys, botocore.session
        from botocore.validate import validate_parameters
        model = botocore.session.get_session().get_service_model("batch")
        doc = json.load(open(sys.argv[1]))
        for key, operation in [("coordinator", "RegisterJobDefinition"), ("worker", "RegisterJobDefinition"), ("submitWorkers", "SubmitJob")]:
            validate_parameters(doc[key], model.operation_model(operation).input_shape)
        """

    func testTheManifestsAreValidForTheirAPIs() throws {
        let valid = try Command.run(["kubernetes-validate", "--strict", "-k", "1.30.0", kubernetes])
        XCTAssertEqual(valid.status, 0, valid.out + valid.err)
        XCTAssertEqual(valid.out.components(separatedBy: " passed for resource ").count - 1, 5, valid.out)
        // The validator is strict: a misspelled field fails.
        let work = try TemporaryDirectory()
        let broken = try String(contentsOfFile: kubernetes, encoding: .utf8).replacingOccurrences(of: "backoffLimitPerIndex:", with: "backoffLimitPerIdx:")
        try broken.write(toFile: work.file("broken.yaml"), atomically: true, encoding: .utf8)
        XCTAssertNotEqual(try Command.run(["kubernetes-validate", "--strict", "-k", "1.30.0", work.file("broken.yaml")]).status, 0)

        let batchValid = try Command.run(["python3", "-c", Self.batchCheck, batch])
        XCTAssertEqual(batchValid.status, 0, batchValid.err)
        let wrong = try String(contentsOfFile: batch, encoding: .utf8).replacingOccurrences(of: "\"attempts\": 3", with: "\"attempts\": \"three\"")
        try wrong.write(toFile: work.file("wrong.json"), atomically: true, encoding: .utf8)
        XCTAssertNotEqual(try Command.run(["python3", "-c", Self.batchCheck, work.file("wrong.json")]).status, 0)
    }

    /// The follower's Deployment: valid for the API, one replica never overlapping another
    /// (Recreate), time to seal on SIGTERM, and args that `pgseal follow` takes.
    func testTheFollowerDeploymentIsValidAndSingular() throws {
        let follower = Repository.path("docs/deploy/kubernetes-follower.yaml")
        let valid = try Command.run(["kubernetes-validate", "--strict", "-k", "1.30.0", follower])
        XCTAssertEqual(valid.status, 0, valid.out + valid.err)
        let extract = """
            import json, sys, yaml
            d = next(d for d in yaml.safe_load_all(open(sys.argv[1])) if d and d["kind"] == "Deployment")
            spec = d["spec"]
            print(json.dumps({"replicas": spec["replicas"], "strategy": spec["strategy"]["type"],
                              "grace": spec["template"]["spec"]["terminationGracePeriodSeconds"],
                              "args": spec["template"]["spec"]["containers"][0]["args"]}))
            """
        let extracted = try Command.run(["python3", "-c", extract, follower])
        XCTAssertEqual(extracted.status, 0, extracted.err)
        let document = try JSONDocument(data: Data(extracted.out.utf8))
        XCTAssertEqual(try document["replicas"].int(), 1)
        XCTAssertEqual(try document["strategy"].string(), "Recreate", "two followers never run at once")
        XCTAssertGreaterThanOrEqual(try document["grace"].int(), 60, "SIGTERM seals the open segment: time for its upload")
        let args = try document["args"].strings()
        XCTAssertEqual(args.first, "follow")
        let help = try PGSealCLI.run(["follow", "--help"]).out
        for flag in args where flag.hasPrefix("--") { XCTAssertTrue(help.contains(flag), "pgseal follow takes no \(flag)") }
    }

    /// docs/OPERATIONS.md §12 shows the workers' Indexed Job: the same text as the file tested here.
    func testTheRunbookShowsTheTestedManifest() throws {
        let runbook = try String(contentsOfFile: Repository.path("docs/OPERATIONS.md"), encoding: .utf8)
        let manifest = try String(contentsOfFile: kubernetes, encoding: .utf8)
        let blocks = runbook.components(separatedBy: "```yaml\n").dropFirst().compactMap { $0.components(separatedBy: "```").first }
        let shown = blocks.filter { $0.contains("name: pgseal-export-workers") }
        XCTAssertEqual(shown.count, 1, "one block of the runbook shows the workers' Job")
        for block in shown { XCTAssertTrue(manifest.contains(block), "the runbook's block is not the manifest's text:\n\(block)") }
    }

    func testTheManifestsCommandLinesRunAsTheSchedulerWouldRunThem() throws {
        let keys = try TemporaryDirectory()
        let store = try TemporaryDirectory()
        XCTAssertEqual(try PGSealCLI.run(["keygen", "--out", keys.path]).status, 0)
        // The containers' args, as Kubernetes gives them to the binary.
        let extract = """
            import json, sys, yaml
            jobs = {d["metadata"]["name"]: d for d in yaml.safe_load_all(open(sys.argv[1])) if d and d["kind"] == "Job"}
            print(json.dumps({name: job["spec"]["template"]["spec"]["containers"][0]["args"] for name, job in jobs.items()}
                             | {"completions": jobs["pgseal-export-workers"]["spec"]["completions"]}
                             | {name + " env": [e["name"] for e in job["spec"]["template"]["spec"]["containers"][0]["env"]] for name, job in jobs.items()}))
            """
        let extracted = try Command.run(["python3", "-c", extract, kubernetes])
        XCTAssertEqual(extracted.status, 0, extracted.err)
        let document = try JSONDocument(data: Data(extracted.out.utf8))
        let config = try ExportFixture.everythingConfig(in: store)
        // This host's paths for the mounted files; the database, store and profile as flags
        // (which win over the config file, as PGSEAL_DB and the ConfigMap would give them).
        func local(_ args: [String]) -> [String] {
            args.map { $0 == "/etc/pgseal/pgseal.yaml" ? config : $0 == "/etc/pgseal/keys/signing-key" ? keys.file("signing-key") : $0 }
                + ["--db", (try? ExportFixture.url()) ?? "", "--to", store.path, "--profile", "everything",
                   "--recipients-file", keys.file("age-recipient.txt")]
        }
        let coordinatorArgs = local(try document["pgseal-export-coordinator"].strings())
        let workerArgs = local(try document["pgseal-export-workers"].strings())
        XCTAssertFalse(workerArgs.contains("--sign-key"), "a worker holds no signing key")
        // The partition key from a Secret, in both Jobs' environment: never through the bucket.
        for job in ["pgseal-export-coordinator", "pgseal-export-workers"] {
            XCTAssertTrue(try document[job + " env"].strings().contains("PGSEAL_PARTITION_KEY"), job)
        }
        let partitionKey = ["PGSEAL_PARTITION_KEY": HexDigits.encode(Crypto.randomBytes(32))]
        let coordinator = try PGSealCLI.start(coordinatorArgs, environment: partitionKey)
        let completions = try document["completions"].int()
        XCTAssertEqual(completions, 8)
        for index in 0..<completions {
            let worker = try PGSealCLI.run(workerArgs, environment: partitionKey.merging(["JOB_COMPLETION_INDEX": String(index)]) { a, _ in a })
            XCTAssertEqual(worker.status, 0, "index \(index): \(worker.err)")
        }
        let sealed = coordinator.wait()
        XCTAssertEqual(sealed.status, 0, sealed.err)
        let archive = sealed.out.trimmingCharacters(in: .newlines)
        let verified = try PGSealCLI.run(["verify", archive, "--level", "deep", "-i", keys.file("age-identity.txt"), "--trusted-key", keys.file("allowed_signers")])
        XCTAssertEqual(verified.status, 0, verified.out + verified.err)
    }
}
