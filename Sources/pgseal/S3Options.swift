import ArgumentParser
import Foundation
import Settings

/// Where S3 is and whom to trust there, for every command that reads or writes a store.
struct S3Options: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("S3-compatible endpoint (MinIO, Ceph, R2, a test server); path-style addressing. Default: PGSEAL_S3_ENDPOINT, AWS_ENDPOINT_URL_S3, AWS_ENDPOINT_URL, else AWS.", valueName: "url"))
    var endpointUrl: String?

    @Option(name: .long, help: ArgumentHelp("S3 region (default: AWS_REGION, AWS_DEFAULT_REGION, the profile's region, else us-east-1).", valueName: "region"))
    var region: String?

    @Option(name: .long, help: ArgumentHelp("PEM file of CA certificates to trust for HTTPS endpoints behind a private CA (default: PGSEAL_CA_BUNDLE, AWS_CA_BUNDLE). Peer verification is always on.", valueName: "file"))
    var caBundle: String?

    init() {}

    init(endpointUrl: String?, caBundle: String?) {
        self.endpointUrl = endpointUrl
        self.region = nil  // the destination's region is replicate's own --region
        self.caBundle = caBundle
    }

    /// The flags, for the settings' top layer.
    var flags: StoreFlags { StoreFlags(endpoint: endpointUrl, region: region, caBundle: caBundle) }
}
