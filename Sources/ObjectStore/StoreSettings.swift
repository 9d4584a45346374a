import Foundation

/// How every store an operation opens is reached and written: one value, built once at the
/// edge — by the command line from the config file < `PGSEAL_…` environment < flags (docs/CLI.md),
/// or by a program embedding PGSealKit by hand — and handed down to `openStore`. Nothing below
/// the edge reads the process environment.
public struct StoreSettings: Sendable {
    /// An S3-compatible endpoint, addressed path-style; nil: AWS's own for the region (or
    /// `AWS_ENDPOINT_URL_S3`/`AWS_ENDPOINT_URL` among `awsVariables`).
    public var endpoint: String?
    /// The S3 region; nil: `AWS_REGION`/`AWS_DEFAULT_REGION` among `awsVariables`, the AWS
    /// profile's region, else us-east-1.
    public var region: String?
    /// A PEM file of extra CA certificates to trust (peer verification is always on); nil:
    /// `AWS_CA_BUNDLE` among `awsVariables`, else the system's.
    public var caBundle: String?
    /// The size of a multipart upload's first parts (at least 5 MiB, S3's minimum).
    public var partSize = 16 << 20
    /// How many parts of one size an upload writes before its parts grow (tests lower it).
    public var partsPerTier = S3MultipartWriter.defaultPartsPerTier
    /// Parts uploaded at once (1–64).
    public var concurrency = 4
    /// Server-side copies (replicate) of objects larger than this go part by part, in parts
    /// of this size; nil: S3's own limit of 5 GiB, parts of 512 MiB.
    public var copyPartSize: Int64?
    /// What S3 does with every object written: encryption, storage class, Object Lock, tags.
    public var objectOptions = S3ObjectOptions()
    /// Whose requests these are.
    public var credentials: CredentialChoice = .awsDefaultChain
    /// The AWS tools' own variables (`AWS_PROFILE`, `AWS_ACCESS_KEY_ID`, `AWS_ROLE_ARN`,
    /// `AWS_CONTAINER_CREDENTIALS_RELATIVE_URI`, `AWS_ENDPOINT_URL_STS`, …), as the edge read
    /// them: the default credential chain and the service endpoints follow them as the AWS CLI
    /// does. Empty for a program that configures everything itself.
    public var awsVariables: [String: String] = [:]

    public enum CredentialChoice: Sendable {
        /// Fixed keys, as an embedding service may hold them in its own secret store.
        case fixed(accessKeyID: String, secretAccessKey: String, sessionToken: String? = nil)
        /// The AWS tools' chain over `awsVariables`: keys, profile, web identity, container,
        /// EC2 instance metadata.
        case awsDefaultChain
    }

    public init() {}

    public init(endpoint: String?, region: String?, credentials: CredentialChoice) {
        self.endpoint = endpoint
        self.region = region
        self.credentials = credentials
    }

    /// The settings' own contradictions, found before any request: each names the setting.
    package func validate(for location: String) throws {
        guard partSize >= 5 << 20 else {
            throw StoreError.invalidLocation(location, reason: "the S3 part size must be at least 5 MiB (S3's minimum part size)")
        }
        guard (1...64).contains(concurrency) else {
            throw StoreError.invalidLocation(location, reason: "the S3 upload concurrency must be between 1 and 64")
        }
        guard partsPerTier >= 1 else { throw StoreError.invalidLocation(location, reason: "parts per tier must be at least 1") }
        if let copyPartSize, copyPartSize < 5 << 20 {
            throw StoreError.invalidLocation(location, reason: "the S3 copy part size must be at least 5 MiB")
        }
        try objectOptions.validate()
    }

    /// The endpoint, region and CA bundle in effect, the AWS tools' variables filling what the
    /// settings leave open.
    package var effectiveEndpoint: String? { endpoint ?? awsVariables.firstSet("AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL") }
    package var effectiveCABundle: String? { caBundle ?? awsVariables.firstSet("AWS_CA_BUNDLE") }
    package var effectiveRegion: String {
        region ?? awsVariables.firstSet("AWS_REGION", "AWS_DEFAULT_REGION")
            ?? SharedConfigFiles(environment: awsVariables).region(profile: awsVariables.firstSet("AWS_PROFILE") ?? "default") ?? "us-east-1"
    }

    /// The credentials these settings choose, for signing requests in `region`.
    package func credentialProvider(region: String) throws -> AWSCredentialProvider {
        switch credentials {
        case .fixed(let id, let secret, let token):
            return AWSCredentialProvider(.init(accessKeyID: id, secretAccessKey: secret, sessionToken: token))
        case .awsDefaultChain:
            return try AWSCredentials.resolve(environment: awsVariables, region: region, caBundle: effectiveCABundle)
        }
    }
}
