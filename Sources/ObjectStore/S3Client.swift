import Cryptography
import Foundation

/// Where an S3 store is and how to sign for it.
package struct S3Location: Sendable {
    package var bucket: String
    package var prefix: String
    /// Custom endpoint (MinIO, Ceph, R2, a test server): path-style addressing. Nil means AWS,
    /// virtual-hosted addressing.
    package var endpoint: String?
    package var region: String

    /// Parses `s3://bucket/prefix/`.
    package init(url: String, endpoint: String?, region: String) throws {
        guard url.hasPrefix("s3://") else { throw StoreError.invalidLocation(url, reason: "not an s3:// URL") }
        let rest = url.dropFirst(5)
        let parts = rest.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false)
        guard let bucket = parts.first, !bucket.isEmpty else { throw StoreError.invalidLocation(url, reason: "no bucket name") }
        self.bucket = String(bucket)
        var prefix = parts.count > 1 ? String(parts[1]) : ""
        if !prefix.isEmpty && !prefix.hasSuffix("/") { prefix += "/" }
        self.prefix = prefix
        self.endpoint = endpoint.map { $0.hasSuffix("/") ? String($0.dropLast()) : $0 }
        self.region = region
    }
}

/// What S3 (or STS, or SNS) said when it said no, with what to do about it.
package struct AWSError: Error, CustomStringConvertible {
    package let operation: String
    package let status: Int
    package let code: String
    package let message: String
    package var service = "S3"
    /// Set when pgseal corrected what made the request fail (its clock) and may send it again.
    package var correctedForRetry = false

    /// Throttling and server trouble, and a body the server received other than it was sent
    /// (its digests, which pgseal always declares, did not match: damage in transit), which
    /// the next attempt sends again from pgseal's own buffer.
    package var isRetryable: Bool {
        correctedForRetry || status >= 500 || status == 429
            || ["SlowDown", "RequestTimeout", "InternalError", "ServiceUnavailable", "Throttling", "BadDigest", "XAmzContentSHA256Mismatch"].contains(code)
    }

    package var description: String {
        let advice: String = switch code {
        case "SignatureDoesNotMatch": " — the secret access key does not match the access key id, or the clock is off"
        case "InvalidAccessKeyId", "InvalidClientTokenId": " — the access key id is unknown to this endpoint"
        case "RequestTimeTooSkewed": " — this machine's clock is off; synchronise it (NTP)"
        case "NoSuchBucket": " — create the bucket, or check its name and the region/endpoint"
        case "ExpiredToken": " — the temporary credentials expired; check the credential source's clock and role session duration"
        case "AccessDenied", "AuthorizationError": " — the credentials may not \(operation); see the IAM policies in docs/OPERATIONS.md"
        default: ""
        }
        return "\(service) \(operation) failed: HTTP \(status) \(code)\(message.isEmpty ? "" : ": " + message)\(advice)"
    }

    /// The error an answer carries: S3's `<Error>` or the query APIs' `<ErrorResponse>`.
    static func from(_ response: HTTPResponse, operation: String, service: String = "S3") -> AWSError {
        let answer = XMLAnswer.tryParse(response.body)
        return AWSError(operation: operation, status: response.status,
                        code: answer?.fields["Code"] ?? (response.status == 404 ? "NotFound" : "HTTP\(response.status)"),
                        message: answer?.fields["Message"] ?? "", service: service)
    }
}

/// The S3 REST calls pgseal makes, signed with SigV4, retried with exponential backoff and full
/// jitter on throttling, server errors and broken connections — never on 4xx, which are answers.
package final class S3Client: @unchecked Sendable {
    package let location: S3Location
    package let credentials: AWSCredentialProvider
    private let http: HTTPClient
    /// S3's time less this machine's, learnt from a `RequestTimeTooSkewed` answer; shared by copies.
    let clock: ClockOffset

    package init(location: S3Location, credentials: AWSCredentialProvider, caBundle: String? = nil) throws {
        self.location = location
        self.credentials = credentials
        self.http = try HTTPClient(caBundle: caBundle)
        self.clock = ClockOffset()
    }

    private init(copying other: S3Client) throws {
        location = other.location
        credentials = other.credentials
        http = try HTTPClient(caBundle: other.http.caBundle)
        clock = other.clock
    }

    /// A client for another thread (libcurl handles are not shared; the credentials and the
    /// clock offset are).
    package func copy() throws -> S3Client { try S3Client(copying: self) }

    package func fullKey(_ key: String) -> String { location.prefix + key }

    /// Where a request for `key` goes: virtual-hosted on AWS, path-style on a custom endpoint.
    func target(_ key: String) -> (host: String, path: String, base: String) {
        let encodedKey = SigV4Signer.encode(key, keepSlash: true)
        if let endpoint = location.endpoint {
            let host = endpoint.replacingOccurrences(of: "http://", with: "").replacingOccurrences(of: "https://", with: "")
            // A bucket-level call (listing) addresses the bucket itself, without a trailing slash.
            return (host, key.isEmpty ? "/\(location.bucket)" : "/\(location.bucket)/\(encodedKey)", endpoint)
        }
        let host = "\(location.bucket).s3.\(location.region).amazonaws.com"
        return (host, "/\(encodedKey)", "https://\(host)")
    }

    /// Sends one request, retrying what can be retried. `payloadSHA256`, when the caller has
    /// hashed the body already, saves hashing it again for the signature.
    @discardableResult
    package func request(_ operation: String, method: String, key: String, query: [(String, String)] = [],
                        headers: [String: String] = [:], body: UnsafeRawBufferPointer? = nil, payloadSHA256: String? = nil,
                        onBody: ((UnsafeRawBufferPointer) throws -> Void)? = nil) throws -> HTTPResponse {
        let (host, path, base) = target(key)
        let payloadHash = payloadSHA256 ?? body.map { SHA256Hasher.hash($0).hex } ?? SHA256Hasher.hash([UInt8]()).hex
        let queryString = query.map { $0.1.isEmpty && ["uploads", "delete"].contains($0.0) ? $0.0 : "\(SigV4Signer.encode($0.0))=\(SigV4Signer.encode($0.1))" }.joined(separator: "&")
        let url = base + path + (queryString.isEmpty ? "" : "?" + queryString)
        return try Retry.run({
            let signer = SigV4Signer(credentials: try credentials.current(), region: location.region)
            let signed = signer.sign(method: method, host: host, path: path, query: query, headers: headers, payloadSHA256: payloadHash,
                                     date: Date().addingTimeInterval(clock.seconds))
            return try http.perform(method: method, url: url, headers: signed, body: body, onBody: onBody)
        }, error: { [clock] response in
            var failure = AWSError.from(response, operation: operation)
            if failure.code == "RequestTimeTooSkewed" { failure.correctedForRetry = clock.correct(serverDate: response.headers["date"]) }
            return failure
        })
    }

    /// What S3 acknowledged of one uploaded body, and the digests pgseal computed of it.
    package struct Uploaded: Sendable {
        package let etag: String
        package let md5: [UInt8]
        /// Base64, as `x-amz-checksum-sha256` carries it.
        package let sha256: String
    }

    /// Uploads one part with its Content-MD5 and `x-amz-checksum-sha256`, both of which S3
    /// checks against what arrives (the upload was created with checksum algorithm SHA256), and
    /// returns its ETag and digests. An answer whose ETag is missing or is not the part's MD5
    /// counts as a failed attempt.
    package func uploadPart(key: String, uploadID: String, number: Int, body: UnsafeRawBufferPointer, etagIsMD5: Bool = true) throws -> Uploaded {
        try put("UploadPart", key: key, query: [("partNumber", String(number)), ("uploadId", uploadID)], body: body, etagIsMD5: etagIsMD5)
    }

    /// PutObject with the same digests and the same ETag check.
    @discardableResult
    package func putObject(key: String, body: UnsafeRawBufferPointer, headers: [String: String] = [:], etagIsMD5: Bool = true) throws -> Uploaded {
        try put("PutObject", key: key, query: [], body: body, headers: headers, etagIsMD5: etagIsMD5)
    }

    /// With SSE-KMS the ETag is not the content's MD5: then only its presence is checked (S3
    /// still checks the Content-MD5 and the SHA-256 of what arrives). The one SHA-256 serves as
    /// the checksum and as the signed payload hash.
    private func put(_ operation: String, key: String, query: [(String, String)], body: UnsafeRawBufferPointer,
                     headers: [String: String] = [:], etagIsMD5: Bool) throws -> Uploaded {
        let md5 = Crypto.md5(body)
        let sha256 = SHA256Hasher.hash(body)
        var headers = headers
        headers["Content-MD5"] = Data(md5).base64EncodedString()
        headers["x-amz-checksum-sha256"] = Data(sha256.bytes).base64EncodedString()
        let expected = "\"" + HexDigits.encode(md5) + "\""
        var attempt = 0
        while true {
            attempt += 1
            let response = try request(operation, method: "PUT", key: key, query: query, headers: headers, body: body, payloadSHA256: sha256.hex)
            if let etag = response.headers["etag"], etag == expected || (!etagIsMD5 && !etag.isEmpty) {
                return Uploaded(etag: etag, md5: md5, sha256: headers["x-amz-checksum-sha256"]!)
            }
            guard attempt < Retry.maxAttempts else {
                throw AWSError(operation: operation, status: response.status, code: "ETagMismatch",
                               message: "the answer's ETag \(response.headers["etag"] ?? "(none)") is not the MD5 of what was sent, \(expected)")
            }
            Retry.backoff(attempt)
        }
    }
}
