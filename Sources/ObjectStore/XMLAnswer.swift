import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif

/// An S3 (or STS, SNS) answer as pgseal reads it: the text of its leaf elements by name, and the
/// repeated records of a listing (`Contents`, `Upload`, `Error`), each as its leaves by name.
/// Read with libxml2's streaming parser (FoundationXML's `XMLParser`): one pass, linear in the
/// body, which HTTPClient already holds to 64 MiB. A server's reply is hostile input: a document
/// type (entities, the way to a billion laughs) is refused before parsing, every text is held to
/// 64 KiB, nesting to 32 levels, records to the caller's bound.
package struct XMLAnswer: Sendable {
    /// The first text of each leaf element outside the records, by element name.
    package private(set) var fields: [String: String] = [:]
    /// Each record's leaves (at any depth below it), the first text of each name.
    package private(set) var records: [[String: String]] = []

    package struct Malformed: Error, CustomStringConvertible {
        package let reason: String
        package var description: String { "the answer is not an XML document of the form expected: \(reason)" }
    }

    static let maxText = 64 << 10
    static let maxDepth = 32

    /// Parses `body`; elements named `record` become records, at most `maxRecords` of them.
    package static func parse(_ body: [UInt8], record: String? = nil, maxRecords: Int = 10_000) throws -> XMLAnswer {
        let data = Data(body)
        if data.range(of: Data("<!DOCTYPE".utf8)) != nil || data.range(of: Data("<!ENTITY".utf8)) != nil {
            throw Malformed(reason: "it declares a document type, which no S3 answer does")
        }
        // S3 answers in UTF-8. FoundationXML traps on a name that is not UTF-8 (found by the
        // fuzzer: `<StorageCl\xFFss>`), so the bytes are proven UTF-8 first, and a document that
        // declares another encoding (which libxml2 would convert) is refused.
        guard String(validating: body, as: UTF8.self) != nil else { throw Malformed(reason: "it is not UTF-8") }
        // A declaration libxml2 rejects can crash FoundationXML's error path (found by the
        // fuzzer: `<?xml?>`): one that is not of the declaration's grammar is refused first.
        if !XMLDeclaration.isWellFormed(body) { throw Malformed(reason: "its XML declaration is not one") }
        // A processing instruction without data (`<?xm?>`, found by the fuzzer) makes
        // FoundationXML call strlen(NULL); S3 answers hold none but the declaration.
        if data.dropFirst(XMLDeclaration.length(body)).range(of: Data("<?".utf8)) != nil {
            throw Malformed(reason: "it holds a processing instruction, which no S3 answer does")
        }
        if let declaration = XMLDeclaration.encoding(in: body), declaration.lowercased() != "utf-8" {
            throw Malformed(reason: "it declares the encoding \(declaration.prefix(40).debugDescription), not UTF-8")
        }
        let collector = Collector(record: record, maxRecords: maxRecords)
        let parser = XMLParser(data: data)
        parser.shouldResolveExternalEntities = false
        parser.delegate = collector
        let parsed = parser.parse()
        if let failure = collector.failure { throw Malformed(reason: failure) }
        guard parsed else { throw Malformed(reason: parser.parserError.map { "\($0.localizedDescription)" } ?? "libxml2 stopped") }
        return collector.answer
    }

    /// For an answer that may not be XML at all (an error page from a proxy): nil then.
    package static func tryParse(_ body: [UInt8]) -> XMLAnswer? { try? parse(body) }

    private final class Collector: NSObject, XMLParserDelegate {
        let recordName: String?
        let maxRecords: Int
        var answer = XMLAnswer()
        var failure: String?
        private var path: [String] = []
        private var text = ""
        private var hadChild = false
        private var recordDepth: Int?
        private var current: [String: String] = [:]

        init(record: String?, maxRecords: Int) {
            self.recordName = record
            self.maxRecords = maxRecords
        }

        private func stop(_ parser: XMLParser, _ reason: String) {
            if failure == nil { failure = reason }
            parser.abortParsing()
        }

        func parser(_ parser: XMLParser, didStartElement name: String, namespaceURI: String?, qualifiedName: String?, attributes: [String: String] = [:]) {
            guard failure == nil else { return }
            guard path.count < XMLAnswer.maxDepth else { return stop(parser, "elements nested deeper than \(XMLAnswer.maxDepth)") }
            path.append(name)
            text = ""
            hadChild = false
            if name == recordName, recordDepth == nil {
                guard answer.records.count < maxRecords else { return stop(parser, "more than \(maxRecords) \(name) entries in one answer") }
                recordDepth = path.count
                current = [:]
            }
        }

        func parser(_ parser: XMLParser, foundCharacters string: String) {
            guard failure == nil else { return }
            guard text.utf8.count + string.utf8.count <= XMLAnswer.maxText else { return stop(parser, "a text longer than \(XMLAnswer.maxText) bytes") }
            text += string
        }

        func parser(_ parser: XMLParser, didEndElement name: String, namespaceURI: String?, qualifiedName: String?) {
            guard failure == nil else { return }
            // A leaf: no element started since this one did.
            if !hadChild {
                if recordDepth != nil {
                    if current[name] == nil { current[name] = text }
                } else if answer.fields[name] == nil {
                    answer.fields[name] = text
                }
            }
            if let depth = recordDepth, depth == path.count {
                answer.records.append(current)
                recordDepth = nil
            }
            path.removeLast()
            text = ""
            hadChild = true
        }
    }
}

/// The `encoding` of an XML declaration at the start of a document, if it has one.
enum XMLDeclaration {
    /// XML 1.0's `XMLDecl`: version, then an optional encoding and standalone, in that order.
    private static let grammar = #"^<\?xml[ \t\r\n]+version[ \t\r\n]*=[ \t\r\n]*("1\.[0-9]+"|'1\.[0-9]+')([ \t\r\n]+encoding[ \t\r\n]*=[ \t\r\n]*("[A-Za-z][A-Za-z0-9._-]*"|'[A-Za-z][A-Za-z0-9._-]*'))?([ \t\r\n]+standalone[ \t\r\n]*=[ \t\r\n]*("(yes|no)"|'(yes|no)'))?[ \t\r\n]*\?>"#

    /// How many bytes the declaration at the start takes (0 without one).
    static func length(_ body: [UInt8]) -> Int {
        guard body.starts(with: Array("<?xml".utf8)) else { return 0 }
        let head = String(decoding: body.prefix(512), as: UTF8.self)
        guard let range = head.range(of: grammar, options: .regularExpression) else { return 0 }
        return head[range].utf8.count
    }

    /// True without a declaration (a document that does not start with `<?xml`), or with one
    /// of the grammar's form within the first 512 bytes.
    static func isWellFormed(_ body: [UInt8]) -> Bool {
        guard body.starts(with: Array("<?xml".utf8)) else { return true }
        let head = String(decoding: body.prefix(512), as: UTF8.self)
        return head.range(of: grammar, options: .regularExpression) != nil
    }

    static func encoding(in body: [UInt8]) -> String? {
        guard body.starts(with: Array("<?xml".utf8)), let end = body.prefix(512).firstIndex(of: UInt8(ascii: ">")) else { return nil }
        let declaration = String(decoding: body[..<end], as: UTF8.self)
        guard let key = declaration.range(of: "encoding") else { return nil }
        let rest = declaration[key.upperBound...].drop { $0 == " " || $0 == "=" }
        guard let quote = rest.first, quote == "\"" || quote == "'" else { return "" }
        return String(rest.dropFirst().prefix { $0 != quote })
    }
}

/// Escaping for the few XML documents pgseal sends (DeleteObjects' keys).
enum XMLText {
    static func escape(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
    }
}
