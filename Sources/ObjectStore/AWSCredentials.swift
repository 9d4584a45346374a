import Foundation

/// Credentials as one source hands them out: fixed ones have no expiration.
package struct AWSCredentialSet: Sendable {
    package let credentials: SigV4Signer.Credentials
    package let expiration: Date?

    package init(_ credentials: SigV4Signer.Credentials, expiration: Date? = nil) {
        self.credentials = credentials
        self.expiration = expiration
    }
}

/// One place credentials come from: the environment, a profile, STS, the container or EC2
/// metadata endpoint.
package protocol AWSCredentialSource: Sendable {
    /// For messages: "web identity (AWS_ROLE_ARN …)".
    var name: String { get }
    func fetch() throws -> AWSCredentialSet
}

/// The credentials every signed request uses. Temporary credentials are fetched again shortly
/// before they expire — also in the middle of a long upload, whose part uploaders all ask here
/// before each request.
package final class AWSCredentialProvider: @unchecked Sendable {
    package let source: AWSCredentialSource
    /// How long before expiry credentials are renewed (the AWS SDKs use 5 to 15 minutes).
    package static let refreshMargin: TimeInterval = 300
    private let lock = NSLock()
    private var cached: AWSCredentialSet?

    package init(source: AWSCredentialSource) { self.source = source }

    package convenience init(_ fixed: SigV4Signer.Credentials) { self.init(source: FixedCredentials(set: AWSCredentialSet(fixed))) }

    package func current() throws -> SigV4Signer.Credentials {
        try lock.withLock {
            let now = Date()
            if let cached, cached.expiration.map({ $0.timeIntervalSince(now) > Self.refreshMargin }) ?? true {
                return cached.credentials
            }
            do {
                let fresh = try source.fetch()
                cached = fresh
                return fresh.credentials
            } catch {
                // A renewal that fails while the old credentials are still valid is not fatal yet.
                if let cached, let expiration = cached.expiration, expiration > now.addingTimeInterval(10) { return cached.credentials }
                throw error
            }
        }
    }
}

struct FixedCredentials: AWSCredentialSource {
    package let set: AWSCredentialSet
    var name = "fixed credentials"
    func fetch() throws -> AWSCredentialSet { set }
}

/// Finds credentials in the order the AWS tools use: `AWS_ACCESS_KEY_ID` and
/// `AWS_SECRET_ACCESS_KEY` (with `AWS_SESSION_TOKEN`); the shared `credentials` and `config`
/// files for `AWS_PROFILE`; web identity (`AWS_WEB_IDENTITY_TOKEN_FILE` and `AWS_ROLE_ARN`,
/// through STS AssumeRoleWithWebIdentity); the container endpoint
/// (`AWS_CONTAINER_CREDENTIALS_RELATIVE_URI` or `_FULL_URI`); the EC2 instance metadata
/// service (IMDSv2).
package enum AWSCredentials {
    package struct Missing: Error, CustomStringConvertible {
        package let tried: [String]
        package var description: String {
            "no AWS credentials found (tried \(tried.joined(separator: "; "))): set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, "
                + "a profile in ~/.aws/credentials (AWS_PROFILE), or run where a role is provided (web identity, container, EC2) — see docs/OPERATIONS.md"
        }
    }

    package static func resolve(environment: [String: String],
                               region: String = "us-east-1", caBundle: String? = nil) throws -> AWSCredentialProvider {
        var tried = ["environment"]
        if let id = environment.firstSet("AWS_ACCESS_KEY_ID"), let secret = environment.firstSet("AWS_SECRET_ACCESS_KEY") {
            return AWSCredentialProvider(.init(accessKeyID: id, secretAccessKey: secret, sessionToken: environment.firstSet("AWS_SESSION_TOKEN")))
        }
        let profile = environment.firstSet("AWS_PROFILE") ?? "default"
        tried.append("profile \(profile)")
        if let fixed = SharedConfigFiles(environment: environment).credentials(profile: profile) {
            return AWSCredentialProvider(fixed)
        }
        if let tokenFile = environment.firstSet("AWS_WEB_IDENTITY_TOKEN_FILE"), let role = environment.firstSet("AWS_ROLE_ARN") {
            let endpoint = AWSQueryAPI.endpoint(service: "sts", region: region, environment: environment)
            return AWSCredentialProvider(source: WebIdentityCredentials(
                tokenFile: tokenFile, roleARN: role, sessionName: environment.firstSet("AWS_ROLE_SESSION_NAME") ?? "pgseal-\(getpid())",
                endpoint: endpoint, caBundle: caBundle))
        }
        tried.append("web identity")
        if let container = try ContainerCredentials(environment: environment, caBundle: caBundle) {
            return AWSCredentialProvider(source: container)
        }
        tried.append("container endpoint")
        if environment.firstSet("AWS_EC2_METADATA_DISABLED")?.lowercased() != "true" {
            let imds = InstanceMetadataCredentials(endpoint: environment.firstSet("AWS_EC2_METADATA_SERVICE_ENDPOINT") ?? "http://169.254.169.254")
            if imds.isAvailable() { return AWSCredentialProvider(source: imds) }
            tried.append("EC2 instance metadata")
        }
        throw Missing(tried: tried)
    }
}

/// `~/.aws/credentials` (`[name]` sections) and `~/.aws/config` (`[profile name]`, `[default]`).
struct SharedConfigFiles {
    let credentialsPath: String
    let configPath: String

    init(environment: [String: String]) {
        let home = NSHomeDirectory()
        credentialsPath = environment.firstSet("AWS_SHARED_CREDENTIALS_FILE") ?? home + "/.aws/credentials"
        configPath = environment.firstSet("AWS_CONFIG_FILE") ?? home + "/.aws/config"
    }

    func credentials(profile: String) -> SigV4Signer.Credentials? {
        let fromCredentials = Self.ini(at: credentialsPath)[profile]
        let fromConfig = Self.ini(at: configPath)[profile == "default" ? "default" : "profile \(profile)"]
        for values in [fromCredentials, fromConfig].compactMap({ $0 }) {
            if let id = values["aws_access_key_id"], let secret = values["aws_secret_access_key"] {
                return .init(accessKeyID: id, secretAccessKey: secret, sessionToken: values["aws_session_token"])
            }
        }
        return nil
    }

    /// The profile's `region` in the config file.
    func region(profile: String) -> String? {
        Self.ini(at: configPath)[profile == "default" ? "default" : "profile \(profile)"]?["region"]
    }

    static func ini(at path: String) -> [String: [String: String]] {
        (try? String(contentsOfFile: path, encoding: .utf8)).map { ini($0) } ?? [:]
    }

    /// `[section]` and `key = value` lines.
    static func ini(_ text: String) -> [String: [String: String]] {
        var sections: [String: [String: String]] = [:]
        var current = ""
        for raw in text.split(whereSeparator: \.isNewline) {
            let line = raw.trimmingCharacters(in: .whitespaces)
            if line.isEmpty || line.hasPrefix("#") || line.hasPrefix(";") { continue }
            if line.hasPrefix("[") && line.hasSuffix("]") {
                current = String(line.dropFirst().dropLast()).trimmingCharacters(in: .whitespaces)
                continue
            }
            guard let equals = line.firstIndex(of: "=") else { continue }
            sections[current, default: [:]][line[..<equals].trimmingCharacters(in: .whitespaces)] =
                line[line.index(after: equals)...].trimmingCharacters(in: .whitespaces)
        }
        return sections
    }
}
