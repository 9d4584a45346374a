import Cryptography
import Foundation

/// AWS Signature Version 4 (the "Authorization: AWS4-HMAC-SHA256 …" header), for S3 and the
/// other AWS APIs pgseal calls. Pure: a request in, its signed headers out.
package struct SigV4Signer: Sendable {
    package struct Credentials: Sendable, Equatable {
        package let accessKeyID: String
        package let secretAccessKey: String
        package let sessionToken: String?

        package init(accessKeyID: String, secretAccessKey: String, sessionToken: String? = nil) {
            self.accessKeyID = accessKeyID
            self.secretAccessKey = secretAccessKey
            self.sessionToken = sessionToken
        }
    }

    package let credentials: Credentials
    package let region: String
    package let service: String

    package init(credentials: Credentials, region: String, service: String = "s3") {
        self.credentials = credentials
        self.region = region
        self.service = service
    }

    package static let unsignedPayload = "UNSIGNED-PAYLOAD"

    /// Returns `headers` plus `host`, `x-amz-date`, `x-amz-content-sha256`, the session token if
    /// any, and `authorization`. `path` is the URI path already percent-encoded as sent; `query`
    /// the query parameters unencoded.
    package func sign(method: String, host: String, path: String, query: [(String, String)], headers: [String: String],
                     payloadSHA256: String, date: Date = Date()) -> [String: String] {
        let (amzDate, day) = Self.timestamps(date)
        var all = headers.reduce(into: [String: String]()) { $0[$1.key.lowercased()] = $1.value.trimmingCharacters(in: .whitespaces) }
        all["host"] = host
        all["x-amz-date"] = amzDate
        all["x-amz-content-sha256"] = payloadSHA256
        if let token = credentials.sessionToken { all["x-amz-security-token"] = token }
        let signedNames = all.keys.sorted()
        let encodedQuery: [(String, String)] = query.map { pair in (Self.encode(pair.0), Self.encode(pair.1)) }
        let sortedQuery = encodedQuery.sorted { a, b in a.0 == b.0 ? a.1 < b.1 : a.0 < b.0 }
        let canonicalQuery: String = sortedQuery.map { pair in pair.0 + "=" + pair.1 }.joined(separator: "&")
        let canonicalHeaders: String = signedNames.map { name in name + ":" + all[name]! + "\n" }.joined()
        let canonicalPath: String = path.isEmpty ? "/" : path
        let lines: [String] = [method, canonicalPath, canonicalQuery, canonicalHeaders, signedNames.joined(separator: ";"), payloadSHA256]
        let canonicalRequest = lines.joined(separator: "\n")
        let scope = "\(day)/\(region)/\(service)/aws4_request"
        let stringToSign = ["AWS4-HMAC-SHA256", amzDate, scope, SHA256Hasher.hash(Array(canonicalRequest.utf8)).hex].joined(separator: "\n")
        var key = Array("AWS4\(credentials.secretAccessKey)".utf8)
        for part in [day, region, service, "aws4_request"] { key = Self.hmac(key, part) }
        let signature = HexDigits.encode(Self.hmac(key, stringToSign))
        all["authorization"] = "AWS4-HMAC-SHA256 Credential=\(credentials.accessKeyID)/\(scope), SignedHeaders=\(signedNames.joined(separator: ";")), Signature=\(signature)"
        return all
    }

    static func hmac(_ key: [UInt8], _ message: String) -> [UInt8] {
        (try? Crypto.hmacSHA256(key: key, message: Array(message.utf8))) ?? []
    }

    static func timestamps(_ date: Date) -> (String, String) {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyyMMdd'T'HHmmss'Z'"
        let amzDate = formatter.string(from: date)
        return (amzDate, String(amzDate.prefix(8)))
    }

    /// RFC 3986 percent-encoding of everything but unreserved characters, as SigV4 requires.
    package static func encode(_ text: String, keepSlash: Bool = false) -> String {
        var out = ""
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                 UInt8(ascii: "-"), UInt8(ascii: "_"), UInt8(ascii: "."), UInt8(ascii: "~"):
                out.append(Character(UnicodeScalar(byte)))
            case UInt8(ascii: "/") where keepSlash:
                out.append("/")
            default:
                out += String(format: "%%%02X", byte)
            }
        }
        return out
    }
}
