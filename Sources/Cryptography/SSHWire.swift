import Foundation

/// The SSH wire encoding (RFC 4251 §5): big-endian uint32 and length-prefixed strings.
struct SSHWriter {
    var bytes: [UInt8] = []

    mutating func uint32(_ value: UInt32) {
        bytes += [UInt8(value >> 24), UInt8(value >> 16 & 0xff), UInt8(value >> 8 & 0xff), UInt8(value & 0xff)]
    }

    mutating func string(_ value: [UInt8]) {
        uint32(UInt32(value.count))
        bytes += value
    }

    mutating func string(_ value: String) { string(Array(value.utf8)) }

    mutating func raw(_ value: [UInt8]) { bytes += value }
}

struct SSHReader {
    let bytes: [UInt8]
    var offset = 0

    init(_ bytes: [UInt8]) { self.bytes = bytes }

    var isAtEnd: Bool { offset == bytes.count }

    mutating func raw(_ count: Int) throws -> [UInt8] {
        guard count >= 0, offset + count <= bytes.count else { throw SSHKeyError.malformed("field runs past the end") }
        defer { offset += count }
        return Array(bytes[offset..<offset + count])
    }

    mutating func uint32() throws -> UInt32 {
        try raw(4).reduce(0) { $0 << 8 | UInt32($1) }
    }

    mutating func string() throws -> [UInt8] { try raw(Int(try uint32())) }

    mutating func text() throws -> String { String(decoding: try string(), as: UTF8.self) }
}

/// PEM-style armor as OpenSSH writes it: a BEGIN line, base64 wrapped at 70 columns, an END line.
enum SSHArmor {
    static func encode(_ bytes: [UInt8], label: String) -> String {
        let base64 = Data(bytes).base64EncodedString()
        var lines: [String] = []
        var index = base64.startIndex
        while index < base64.endIndex {
            let end = base64.index(index, offsetBy: 70, limitedBy: base64.endIndex) ?? base64.endIndex
            lines.append(String(base64[index..<end]))
            index = end
        }
        return "-----BEGIN \(label)-----\n" + lines.joined(separator: "\n") + "\n-----END \(label)-----\n"
    }

    static func decode(_ text: String, label: String) throws -> [UInt8] {
        let begin = "-----BEGIN \(label)-----"
        let end = "-----END \(label)-----"
        guard let start = text.range(of: begin), let stop = text.range(of: end, range: start.upperBound..<text.endIndex) else {
            throw SSHKeyError.malformed("no \(begin) block")
        }
        let body = text[start.upperBound..<stop.lowerBound].filter { !$0.isWhitespace }
        guard let data = Data(base64Encoded: String(body)) else { throw SSHKeyError.malformed("the \(label) block is not base64") }
        return [UInt8](data)
    }
}

package enum SSHKeyError: Error, CustomStringConvertible {
    case malformed(String)
    case unsupportedKeyType(String)
    case encryptedPrivateKey(String)
    case unreadable(String)

    package var description: String {
        switch self {
        case .malformed(let reason): "malformed SSH key or signature: \(reason)"
        case .unsupportedKeyType(let type): "key type \(type) is not supported: pgseal signs with ssh-ed25519 keys"
        case .encryptedPrivateKey(let path):
            "the signing key \(path) is passphrase-protected; an unattended export needs an unencrypted key (ssh-keygen -t ed25519 -N '')"
        case .unreadable(let path): "cannot read \(path)"
        }
    }
}
