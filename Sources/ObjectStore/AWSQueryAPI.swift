import Cryptography
import Foundation

/// The form-encoded "query" APIs (STS, SNS): one POST of `Action=…&Version=…&…` to a service
/// endpoint, answered with XML. Signed with SigV4 when given credentials; STS's
/// AssumeRoleWithWebIdentity is the one call that goes unsigned, as the AWS tools send it.
package final class AWSQueryAPI {
    package let endpoint: String
    package let service: String
    package let region: String
    private let credentials: AWSCredentialProvider?
    private let http: HTTPClient

    package init(endpoint: String, service: String, region: String, credentials: AWSCredentialProvider?, caBundle: String? = nil) throws {
        self.endpoint = endpoint.hasSuffix("/") ? String(endpoint.dropLast()) : endpoint
        self.service = service
        self.region = region
        self.credentials = credentials
        self.http = try HTTPClient(caBundle: caBundle)
    }

    /// The endpoint of `service` in `region`, unless the AWS tools' variables name another
    /// (`AWS_ENDPOINT_URL_<SERVICE>`, then `AWS_ENDPOINT_URL`).
    package static func endpoint(service: String, region: String, environment: [String: String]) -> String {
        environment.firstSet("AWS_ENDPOINT_URL_\(service.uppercased())", "AWS_ENDPOINT_URL") ?? "https://\(service).\(region).amazonaws.com"
    }

    /// Calls `action` and returns the answer's XML text.
    package func call(_ action: String, version: String, parameters: [(String, String)]) throws -> XMLAnswer {
        let form = ([("Action", action), ("Version", version)] + parameters)
            .map { SigV4Signer.encode($0.0) + "=" + SigV4Signer.encode($0.1) }.joined(separator: "&")
        let body = Array(form.utf8)
        let host = String(endpoint.split(separator: "/", omittingEmptySubsequences: true).dropFirst().first ?? "")
        let contentType = ["Content-Type": "application/x-www-form-urlencoded; charset=utf-8"]
        let response = try body.withUnsafeBytes { bytes in
            try Retry.run({
                var headers = contentType
                if let credentials {
                    headers = SigV4Signer(credentials: try credentials.current(), region: region, service: service)
                        .sign(method: "POST", host: host, path: "/", query: [], headers: contentType, payloadSHA256: SHA256Hasher.hash(bytes).hex)
                }
                return try http.perform(method: "POST", url: endpoint + "/", headers: headers, body: bytes, timeout: 60)
            }, error: { AWSError.from($0, operation: action, service: service.uppercased()) })
        }
        do { return try XMLAnswer.parse(response.body) } catch {
            throw AWSError(operation: action, status: response.status, code: "MalformedAnswer", message: "\(error)", service: service.uppercased())
        }
    }
}
