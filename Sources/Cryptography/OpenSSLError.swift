import COpenSSL

/// An error from OpenSSL's error queue, drained into text at the point of failure.
package struct OpenSSLError: Error, CustomStringConvertible {
    package let operation: String
    package let detail: String

    package init(_ operation: String) {
        self.operation = operation
        self.detail = Self.drain()
    }

    package var description: String {
        detail.isEmpty ? "\(operation) failed" : "\(operation) failed: \(detail)"
    }

    static func last() -> String { drain() }

    private static func drain() -> String {
        var messages: [String] = []
        while case let code = ERR_get_error(), code != 0 {
            var buffer = [CChar](repeating: 0, count: 256)
            ERR_error_string_n(code, &buffer, buffer.count)
            messages.append(String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))
        }
        return messages.joined(separator: "; ")
    }
}
