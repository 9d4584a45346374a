import ArgumentParser
import Export
import Foundation
import PGSealKit

/// The options of a partitioned export (docs/FORMAT.md §10, docs/OPERATIONS.md §11): the
/// coordinator's, and a worker's.
struct PartitionOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("Split the export into this many parts (2–256), each table by ranges of its key, read by worker processes in the one snapshot this process holds; one signed seal over all parts.", valueName: "n"))
    var partitions: Int?

    @Option(name: .long, help: ArgumentHelp("With --partitions: worker processes run at once on this host (default: one per part).", valueName: "n"))
    var workers: Int?

    @Flag(name: .long, help: "With --partitions: start no workers here; wait for workers started elsewhere (a Kubernetes Indexed Job, an AWS Batch array job) to write every part.")
    var externalWorkers = false

    @Option(name: .long, help: ArgumentHelp("With --partitions: how long the coordinator holds its snapshot waiting for the parts (default 6h).", valueName: "duration"))
    var partitionTimeout: String?

    @Flag(name: .long, help: "Be a worker of the partitioned export of this profile whose coordinator is running: write the part --part of its plan (needs no signing key).")
    var partitionWorker = false

    @Option(name: .long, help: ArgumentHelp("With --partition-worker: which part, from 1 (default: JOB_COMPLETION_INDEX or AWS_BATCH_JOB_ARRAY_INDEX, which count from 0, plus one).", valueName: "n"))
    var part: Int?

    @Option(name: .long, help: ArgumentHelp("With --partition-worker: how long to wait for the coordinator's plan to appear in the store (default 10m).", valueName: "duration"))
    var planWait: String?

    @Option(name: .long, help: ArgumentHelp("The partition key shared by the coordinator and its workers outside the store (64 hex digits, as openssl rand -hex 32 makes; - reads standard input). Needed with --external-workers and by workers started elsewhere; default: PGSEAL_PARTITION_KEY, else a coordinator that starts its own workers makes one.", valueName: "file"))
    var partitionKeyFile: String?

    func validate() throws {
        if partitionWorker && partitions != nil { throw ValidationError("--partition-worker and --partitions exclude each other: a worker takes its part from the coordinator's plan") }
        if !partitionWorker && (part != nil || planWait != nil) { throw ValidationError("--part and --plan-wait belong to --partition-worker") }
        if partitions == nil && !partitionWorker && partitionKeyFile != nil { throw ValidationError("--partition-key-file belongs to --partitions or --partition-worker") }
        if partitions == nil && (workers != nil || externalWorkers || partitionTimeout != nil) {
            throw ValidationError("--workers, --external-workers and --partition-timeout belong to --partitions")
        }
        if let workers, workers < 1 { throw ValidationError("--workers takes 1 or more") }
    }

    /// The partition key: --partition-key-file, else PGSEAL_PARTITION_KEY (read here, at the
    /// edge, once); nil when neither is given.
    func partitionKey(environment: [String: String]) throws -> PartitionKey? {
        if let partitionKeyFile {
            let text: String
            if partitionKeyFile == "-" {
                text = String(decoding: (try? FileHandle.standardInput.readToEnd()) ?? Data(), as: UTF8.self)
            } else {
                do { text = try String(contentsOfFile: partitionKeyFile, encoding: .utf8) } catch {
                    throw ValidationError("cannot read the partition key file \(partitionKeyFile): \(error.localizedDescription)")
                }
            }
            return try PartitionKey(text: text, origin: partitionKeyFile == "-" ? "standard input" : partitionKeyFile)
        }
        return try environment["PGSEAL_PARTITION_KEY"].map { try PartitionKey(text: $0, origin: "PGSEAL_PARTITION_KEY") }
    }

    /// The worker's part, from 0: --part, else the index the scheduler gives (read here, at the
    /// edge, once).
    func workerPart(environment: [String: String]) throws -> Int {
        if let part {
            guard part >= 1 else { throw ValidationError("--part counts from 1") }
            return part - 1
        }
        for name in ["JOB_COMPLETION_INDEX", "AWS_BATCH_JOB_ARRAY_INDEX"] {
            if let text = environment[name] {
                guard let index = Int(text), index >= 0 else { throw ValidationError("\(name) is \(text.debugDescription), not an index") }
                return index
            }
        }
        throw ValidationError("--partition-worker needs --part N, or JOB_COMPLETION_INDEX (Kubernetes) or AWS_BATCH_JOB_ARRAY_INDEX (AWS Batch)")
    }
}
