import CCurl
import Foundation

/// One HTTP response: status, headers (lowercased names) and, unless the caller streamed it, the body.
package struct HTTPResponse: Sendable {
    package let status: Int
    package let headers: [String: String]
    package let body: [UInt8]
}

package enum HTTPError: Error, CustomStringConvertible {
    case transport(url: String, message: String)
    case bodyTooLarge(url: String)
    /// The server's certificate is not trusted: an answer, not a hiccup, so never retried.
    case untrustedPeer(url: String, message: String)

    package var isRetryable: Bool {
        if case .transport = self { return true }
        return false
    }

    package var description: String {
        switch self {
        case .transport(let url, let message): "HTTP request to \(url) failed: \(message)"
        case .untrustedPeer(let url, let message):
            "HTTPS request to \(url) failed: \(message) — the server's certificate is not trusted; if it comes from a private CA, trust that CA's PEM file (the store settings' CA bundle)"
        case .bodyTooLarge(let url): "the response from \(url) is larger than expected"
        }
    }
}

/// A libcurl easy handle, owned and reused (keep-alive) by one thread at a time; `deinit`
/// cleans it up. Bodies are sent from the caller's buffer without a copy.
package final class HTTPClient {
    private let handle: UnsafeMutableRawPointer
    private static let globalInit: Void = { curl_global_init(Int(CURL_GLOBAL_DEFAULT)) }()
    package static let maxBufferedBody = 64 << 20

    final class Exchange {
        var headers: [String: String] = [:]
        var body: [UInt8] = []
        var onBody: ((UnsafeRawBufferPointer) throws -> Void)?
        var error: Error?
        var tooLarge = false
        var status = 0
    }

    /// A CA certificate bundle (PEM) to trust instead of the system's, for endpoints behind a
    /// private CA. Peer verification itself is never turned off.
    package let caBundle: String?

    package init(caBundle: String? = nil) throws {
        self.caBundle = caBundle
        _ = Self.globalInit
        guard let handle = curl_easy_init() else { throw HTTPError.transport(url: "", message: "curl_easy_init failed") }
        self.handle = handle
    }

    deinit { curl_easy_cleanup(handle) }

    /// Performs one request. With `onBody`, the response body is handed over piece by piece
    /// (for 2xx answers only) instead of being collected.
    package func perform(method: String, url: String, headers: [String: String], body: UnsafeRawBufferPointer? = nil,
                        timeout: Int = 300, connectTimeout: Int = 10, onBody: ((UnsafeRawBufferPointer) throws -> Void)? = nil) throws -> HTTPResponse {
        curl_easy_reset(handle)
        let exchange = Exchange()
        exchange.onBody = onBody
        let context = Unmanaged.passUnretained(exchange).toOpaque()
        var list: UnsafeMutablePointer<curl_slist>?
        for (name, value) in headers { list = curl_slist_append(list, "\(name): \(value)") }
        list = curl_slist_append(list, "Expect:")
        // libcurl labels a body as a form, which some servers then parse instead of storing.
        if body != nil, !headers.keys.contains(where: { $0.lowercased() == "content-type" }) {
            list = curl_slist_append(list, "Content-Type: application/octet-stream")
        }
        defer { curl_slist_free_all(list) }

        pgseal_curl_setopt_string(handle, CURLOPT_URL, url)
        pgseal_curl_setopt_long(handle, CURLOPT_NOSIGNAL, 1)
        pgseal_curl_setopt_long(handle, CURLOPT_CONNECTTIMEOUT, connectTimeout)
        if let caBundle { pgseal_curl_setopt_string(handle, CURLOPT_CAINFO, caBundle) }
        pgseal_curl_setopt_long(handle, CURLOPT_TIMEOUT, timeout)
        // A stalled transfer (under 1 KiB/s for 30 s) is a failure to retry, not a hang.
        pgseal_curl_setopt_long(handle, CURLOPT_LOW_SPEED_LIMIT, 1024)
        pgseal_curl_setopt_long(handle, CURLOPT_LOW_SPEED_TIME, 30)
        pgseal_curl_setopt_pointer(handle, CURLOPT_HTTPHEADER, UnsafeMutableRawPointer(list))
        if method == "HEAD" {
            pgseal_curl_setopt_long(handle, CURLOPT_NOBODY, 1)
        } else {
            pgseal_curl_setopt_string(handle, CURLOPT_CUSTOMREQUEST, method)
        }
        if let body {
            pgseal_curl_setopt_pointer(handle, CURLOPT_POSTFIELDS, UnsafeMutableRawPointer(mutating: body.baseAddress ?? UnsafeRawPointer(bitPattern: 1)!))
            pgseal_curl_setopt_offset(handle, CURLOPT_POSTFIELDSIZE_LARGE, curl_off_t(body.count))
        } else if method == "PUT" || method == "POST" {
            pgseal_curl_setopt_offset(handle, CURLOPT_POSTFIELDSIZE_LARGE, 0)
            pgseal_curl_setopt_string(handle, CURLOPT_POSTFIELDS, "")
        }
        pgseal_curl_setopt_pointer(handle, CURLOPT_WRITEDATA, context)
        pgseal_curl_setopt_callback(handle, CURLOPT_WRITEFUNCTION) { buffer, size, count, context in
            let exchange = Unmanaged<Exchange>.fromOpaque(context!).takeUnretainedValue()
            let bytes = UnsafeRawBufferPointer(start: buffer, count: size * count)
            if let onBody = exchange.onBody, (200..<300).contains(exchange.status) {
                do { try onBody(bytes) } catch { exchange.error = error; return 0 }
            } else {
                guard exchange.body.count + bytes.count <= HTTPClient.maxBufferedBody else { exchange.tooLarge = true; return 0 }
                exchange.body.append(contentsOf: bytes)
            }
            return size * count
        }
        pgseal_curl_setopt_pointer(handle, CURLOPT_HEADERDATA, context)
        pgseal_curl_setopt_callback(handle, CURLOPT_HEADERFUNCTION) { buffer, size, count, context in
            let exchange = Unmanaged<Exchange>.fromOpaque(context!).takeUnretainedValue()
            let line = String(decoding: UnsafeRawBufferPointer(start: buffer, count: size * count), as: UTF8.self)
            if let colon = line.firstIndex(of: ":") {
                exchange.headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespacesAndNewlines)
            } else if line.hasPrefix("HTTP/") {
                exchange.headers = [:]  // a new response (after a redirect or 100 Continue)
                exchange.status = Int(line.split(separator: " ").dropFirst().first ?? "") ?? 0
            }
            return size * count
        }
        var errorBuffer = [CChar](repeating: 0, count: Int(CURL_ERROR_SIZE))
        let code = errorBuffer.withUnsafeMutableBufferPointer { buffer -> CURLcode in
            pgseal_curl_setopt_pointer(handle, CURLOPT_ERRORBUFFER, buffer.baseAddress)
            return curl_easy_perform(handle)
        }
        if let error = exchange.error { throw error }
        if exchange.tooLarge { throw HTTPError.bodyTooLarge(url: url) }
        guard code == CURLE_OK else {
            let detail = String(decoding: errorBuffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            if code == CURLE_PEER_FAILED_VERIFICATION || code == CURLE_SSL_CACERT_BADFILE {
                throw HTTPError.untrustedPeer(url: url, message: detail)
            }
            throw HTTPError.transport(url: url, message: detail.isEmpty ? String(cString: curl_easy_strerror(code)) : detail)
        }
        var status = 0
        pgseal_curl_response_code(handle, &status)
        return HTTPResponse(status: status, headers: exchange.headers, body: exchange.body)
    }
}
