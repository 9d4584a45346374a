import Foundation

/// A credential source that answered, but not with credentials.
package struct CredentialSourceError: Error, CustomStringConvertible {
    package let source: String
    package let reason: String
    package var description: String { "AWS credentials from \(source): \(reason)" }
}

/// An AWS timestamp (credential expiration, upload start, retention date): ISO 8601 with or
/// without fractional seconds.
func parseTimestamp(_ text: String?) -> Date? {
    guard let text else { return nil }
    let fractional = ISO8601DateFormatter()
    fractional.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
    return ISO8601DateFormatter().date(from: text) ?? fractional.date(from: text)
}

/// The JSON the container and EC2 endpoints answer with.
private struct CredentialDocument: Decodable {
    let AccessKeyId: String
    let SecretAccessKey: String
    let Token: String?
    let Expiration: String?

    static func decode(_ body: [UInt8], source: String) throws -> AWSCredentialSet {
        guard let document = try? JSONDecoder().decode(CredentialDocument.self, from: Data(body)) else {
            throw CredentialSourceError(source: source, reason: "the answer is not a credentials document")
        }
        return AWSCredentialSet(.init(accessKeyID: document.AccessKeyId, secretAccessKey: document.SecretAccessKey, sessionToken: document.Token),
                                expiration: parseTimestamp(document.Expiration))
    }
}

/// STS AssumeRoleWithWebIdentity with the token in `AWS_WEB_IDENTITY_TOKEN_FILE`, read again at
/// every renewal because the platform (EKS, GitHub Actions) rotates it.
struct WebIdentityCredentials: AWSCredentialSource {
    let tokenFile: String
    let roleARN: String
    let sessionName: String
    let endpoint: String
    package let caBundle: String?

    var name: String { "web identity (AWS_ROLE_ARN \(roleARN))" }

    func fetch() throws -> AWSCredentialSet {
        guard let token = try? String(contentsOfFile: tokenFile, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines), !token.isEmpty else {
            throw CredentialSourceError(source: name, reason: "cannot read the token file \(tokenFile) (AWS_WEB_IDENTITY_TOKEN_FILE)")
        }
        let sts = try AWSQueryAPI(endpoint: endpoint, service: "sts", region: "us-east-1", credentials: nil, caBundle: caBundle)
        let answer = try sts.call("AssumeRoleWithWebIdentity", version: "2011-06-15",
                                  parameters: [("RoleArn", roleARN), ("RoleSessionName", sessionName), ("WebIdentityToken", token)])
        guard let id = answer.fields["AccessKeyId"], let secret = answer.fields["SecretAccessKey"] else {
            throw CredentialSourceError(source: name, reason: "STS answered without credentials")
        }
        return AWSCredentialSet(.init(accessKeyID: id, secretAccessKey: secret, sessionToken: answer.fields["SessionToken"]),
                                expiration: parseTimestamp(answer.fields["Expiration"]))
    }
}

/// The ECS/EKS container credentials endpoint: `AWS_CONTAINER_CREDENTIALS_RELATIVE_URI` (on
/// 169.254.170.2) or `AWS_CONTAINER_CREDENTIALS_FULL_URI`, with the authorization token from
/// `AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE` or `AWS_CONTAINER_AUTHORIZATION_TOKEN`.
struct ContainerCredentials: AWSCredentialSource {
    let url: String
    let token: String?
    let tokenFile: String?
    package let caBundle: String?

    var name: String { "the container endpoint \(url)" }

    /// Nil when the environment names no container endpoint.
    init?(environment: [String: String], caBundle: String?) throws {
        if let relative = environment.firstSet("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI") {
            url = "http://169.254.170.2" + relative
        } else if let full = environment.firstSet("AWS_CONTAINER_CREDENTIALS_FULL_URI") {
            // Plain HTTP only to the machine itself or the ECS/EKS agents, as the AWS SDKs allow.
            let host = URL(string: full)?.host ?? ""
            guard full.hasPrefix("https://") || ["localhost", "169.254.170.2", "169.254.170.23", "fd00:ec2::23", "::1"].contains(host)
                    || host.hasPrefix("127.") else {
                throw CredentialSourceError(source: "AWS_CONTAINER_CREDENTIALS_FULL_URI", reason: "\(full) is neither https nor a loopback or ECS/EKS agent address")
            }
            url = full
        } else {
            return nil
        }
        token = environment.firstSet("AWS_CONTAINER_AUTHORIZATION_TOKEN")
        tokenFile = environment.firstSet("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE")
        self.caBundle = caBundle
    }

    func fetch() throws -> AWSCredentialSet {
        var headers: [String: String] = [:]
        if let tokenFile {
            guard let text = try? String(contentsOfFile: tokenFile, encoding: .utf8) else {
                throw CredentialSourceError(source: name, reason: "cannot read \(tokenFile) (AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE)")
            }
            headers["Authorization"] = text.trimmingCharacters(in: .whitespacesAndNewlines)
        } else if let token {
            headers["Authorization"] = token
        }
        let response = try Retry.run({ try HTTPClient(caBundle: caBundle).perform(method: "GET", url: url, headers: headers, timeout: 10, connectTimeout: 2) },
                                     error: { AWSError.from($0, operation: "GetCredentials", service: "container endpoint") })
        return try CredentialDocument.decode(response.body, source: name)
    }
}

/// The EC2 instance metadata service, version 2: a session token first (PUT), then the role's
/// name and its credentials.
struct InstanceMetadataCredentials: AWSCredentialSource {
    let endpoint: String
    var name: String { "EC2 instance metadata (\(endpoint))" }

    private func sessionToken(_ http: HTTPClient, connectTimeout: Int) throws -> String {
        let response = try http.perform(method: "PUT", url: endpoint + "/latest/api/token",
                                        headers: ["X-aws-ec2-metadata-token-ttl-seconds": "21600"], timeout: 5, connectTimeout: connectTimeout)
        guard response.status == 200, !response.body.isEmpty else {
            throw CredentialSourceError(source: name, reason: "no IMDSv2 session token (HTTP \(response.status))")
        }
        return String(decoding: response.body, as: UTF8.self)
    }

    /// Whether anything answers there: off EC2 the address does not, and pgseal must not wait long.
    func isAvailable() -> Bool {
        guard let http = try? HTTPClient() else { return false }
        return (try? sessionToken(http, connectTimeout: 1)) != nil
    }

    func fetch() throws -> AWSCredentialSet {
        let http = try HTTPClient()
        let token = ["X-aws-ec2-metadata-token": try sessionToken(http, connectTimeout: 2)]
        let base = endpoint + "/latest/meta-data/iam/security-credentials/"
        let roles = try http.perform(method: "GET", url: base, headers: token, timeout: 5, connectTimeout: 2)
        guard roles.status == 200, let role = String(decoding: roles.body, as: UTF8.self).split(whereSeparator: \.isNewline).first else {
            throw CredentialSourceError(source: name, reason: "the instance has no IAM role (HTTP \(roles.status)); attach an instance profile")
        }
        let answer = try http.perform(method: "GET", url: base + role, headers: token, timeout: 5, connectTimeout: 2)
        guard answer.status == 200 else { throw CredentialSourceError(source: name, reason: "HTTP \(answer.status) for role \(role)") }
        return try CredentialDocument.decode(answer.body, source: name)
    }
}
