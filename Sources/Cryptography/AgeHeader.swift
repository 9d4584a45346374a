import ByteStreams

/// One recipient stanza: `-> type args…` and a wrapped file key.
struct AgeStanza {
    var arguments: [String]
    var body: [UInt8]

    /// The stanza's lines: arguments, then the body in base64 wrapped at 64 columns, ending
    /// with a line shorter than 64 (possibly empty).
    var encoded: String {
        var text = "-> " + arguments.joined(separator: " ") + "\n"
        let body = RawBase64.encode(self.body)
        var index = body.startIndex
        while true {
            let end = body.index(index, offsetBy: 64, limitedBy: body.endIndex) ?? body.endIndex
            text += body[index..<end] + "\n"
            if body.distance(from: index, to: end) < 64 { break }
            index = end
        }
        return text
    }
}

/// The age v1 header: version line, stanzas, MAC (age-encryption.org/v1, "Header").
struct AgeHeader {
    static let versionLine = "age-encryption.org/v1"
    static let maxStanzas = 1000

    var stanzas: [AgeStanza]

    /// The header text up to and including `---`, which the MAC covers.
    var macInput: [UInt8] {
        Array((Self.versionLine + "\n" + stanzas.map(\.encoded).joined() + "---").utf8)
    }

    static func macKey(fileKey: [UInt8]) throws -> [UInt8] {
        try Crypto.hkdfSHA256(ikm: fileKey, salt: [], info: "header")
    }

    func encoded(fileKey: [UInt8]) throws -> [UInt8] {
        let mac = try Crypto.hmacSHA256(key: try Self.macKey(fileKey: fileKey), message: macInput)
        return macInput + Array((" " + RawBase64.encode(mac) + "\n").utf8)
    }

    /// Parses a header from `reader`, leaving it at the first payload byte; returns the header
    /// and its MAC.
    static func parse(_ reader: LineReader) throws -> (AgeHeader, [UInt8]) {
        guard let version = try reader.line() else { throw AgeError.malformedHeader("the file is empty") }
        guard version == versionLine else {
            throw AgeError.malformedHeader(version.hasPrefix("age-encryption.org/") ? "unsupported version \(version)" : "not an age file")
        }
        var stanzas: [AgeStanza] = []
        while true {
            guard let line = try reader.line() else { throw AgeError.malformedHeader("the header ends without its MAC line") }
            if line.hasPrefix("--- ") {
                guard let mac = RawBase64.decode(String(line.dropFirst(4))), mac.count == 32 else {
                    throw AgeError.malformedHeader("the MAC line is not 32 bytes of base64")
                }
                guard !stanzas.isEmpty else { throw AgeError.malformedHeader("no recipient stanza") }
                return (AgeHeader(stanzas: stanzas), mac)
            }
            guard line.hasPrefix("-> ") else { throw AgeError.malformedHeader("unexpected line in the header") }
            let arguments = line.dropFirst(3).split(separator: " ", omittingEmptySubsequences: false).map(String.init)
            guard !arguments.isEmpty, arguments.allSatisfy({ !$0.isEmpty }) else {
                throw AgeError.malformedHeader("a stanza has an empty argument")
            }
            // The spec's grammar: a stanza's type and arguments are VCHAR strings (0x21–0x7E).
            guard arguments.allSatisfy({ $0.utf8.allSatisfy { (0x21...0x7E).contains($0) } }) else {
                throw AgeError.malformedHeader("a stanza argument holds a character outside printable ASCII")
            }
            var body = ""
            while true {
                guard let bodyLine = try reader.line() else { throw AgeError.malformedHeader("a stanza body is cut off") }
                guard bodyLine.count <= 64 else { throw AgeError.malformedHeader("a stanza body line is longer than 64 columns") }
                body += bodyLine
                if bodyLine.count < 64 { break }
            }
            guard let decoded = RawBase64.decode(body) else { throw AgeError.malformedHeader("a stanza body is not canonical base64") }
            stanzas.append(AgeStanza(arguments: arguments, body: decoded))
            guard stanzas.count <= maxStanzas else { throw AgeError.malformedHeader("too many stanzas") }
        }
    }
}

/// Reads lines from a `ByteSource` through a buffer, then hands out the rest as raw bytes:
/// the age header is text, the payload after it binary.
final class LineReader: ByteSource {
    private let source: ByteSource
    private var buffer = [UInt8](repeating: 0, count: 64 * 1024)
    private var start = 0
    private var end = 0
    static let maxLineLength = 4096

    init(_ source: ByteSource) { self.source = source }

    private func fill() throws -> Bool {
        if start > 0 {
            buffer.replaceSubrange(0..<(end - start), with: buffer[start..<end])
            end -= start
            start = 0
        }
        guard end < buffer.count else { return false }
        let n = try buffer.withUnsafeMutableBytes { try source.read(into: UnsafeMutableRawBufferPointer(rebasing: $0[end...])) }
        end += n
        return n > 0
    }

    /// The next line without its `\n`, or nil at the end of the stream.
    func line() throws -> String? {
        while true {
            if let newline = buffer[start..<end].firstIndex(of: 0x0A) {
                let line = String(decoding: buffer[start..<newline], as: UTF8.self)
                start = newline + 1
                return line
            }
            guard end - start < Self.maxLineLength else { throw AgeError.malformedHeader("a header line is too long") }
            if try !fill() {
                if start == end { return nil }
                throw AgeError.malformedHeader("the header ends in the middle of a line")
            }
        }
    }

    func read(into target: UnsafeMutableRawBufferPointer) throws -> Int {
        if start < end {
            let n = min(target.count, end - start)
            buffer.withUnsafeBytes { target.copyMemory(from: UnsafeRawBufferPointer(rebasing: $0[start..<(start + n)])) }
            start += n
            return n
        }
        return try source.read(into: target)
    }
}
