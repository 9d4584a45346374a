import ArgumentParser
import Display
import Foundation
import Logging
import Operations
import PGSealKit

struct ReplicateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "replicate",
        abstract: "Copy a sealed archive to another bucket, region or store, and prove the copy.",
        discussion: """
            Between buckets of the same S3 the bytes never pass through this machine (CopyObject; \
            UploadPartCopy for objects over 5 GiB); between different endpoints, or to and from \
            a directory, the archive is streamed. Either way the copy is then read back: its \
            size and SHA-256 must be the signed seal's. The sidecars follow, the seal's \
            signature last. Replicating again is harmless: a proven copy is left as it is.
            Exit codes: 0 copied and proven; 1 the source's seal or the copy does not verify; \
            2 could not copy.

            Example (a second region):
              pgseal replicate s3://kessan-backups/pgseal/kessan-user-data/2026/11/24/kessan-user-data-20261124T020000Z.tar.zst.age \\
                --to s3://kessan-backups-dr/pgseal/ --to-region eu-west-1 --trusted-key allowed_signers
            """)

    @OptionGroup var target: ArchiveArgument

    @Option(name: .long, help: ArgumentHelp("The destination store: a directory or s3://bucket/prefix/.", valueName: "store"))
    var to: String

    @OptionGroup(title: "Trust (the source's seal must verify)")
    var trust: TrustOptions

    @Option(name: .long, help: ArgumentHelp("The destination's S3 region (default: the source's; --region is the source's, as on every command).", valueName: "region"))
    var toRegion: String?

    @Option(name: .long, help: ArgumentHelp("S3-compatible endpoint of both stores (default: PGSEAL_S3_ENDPOINT, AWS_ENDPOINT_URL_S3, AWS_ENDPOINT_URL, else AWS).", valueName: "url"))
    var endpointUrl: String?

    @Option(name: .long, help: ArgumentHelp("PEM file of CA certificates to trust for HTTPS endpoints behind a private CA.", valueName: "file"))
    var caBundle: String?

    @Flag(name: .long, help: "Print the outcome as JSON.")
    var json = false

    @OptionGroup var global: GlobalOptions

    func run() throws {
        let context = try CommandContext(global, s3: S3Options(endpointUrl: endpointUrl, caBundle: caBundle))
        let policy = try trust.policy(environment: context.environment)
        let outcome = try PGSeal.replicate(Replicator.Request(archive: try target.location(policy: policy, context: context), destination: to,
                                                            region: toRegion, policy: policy, storeSettings: context.storeSettings))
        if json {
            print(try ReportFile.json(outcome))
        } else {
            HumanOutput.err("replicated by \(outcome.method): \(Format.bytes(outcome.bytes)), SHA-256 \(outcome.sha256) proven at the destination")
            print(outcome.destination)
        }
    }
}
