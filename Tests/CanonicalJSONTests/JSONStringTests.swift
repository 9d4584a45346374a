import CanonicalJSON
import XCTest

final class JSONStringTests: XCTestCase {
    func testEscapesOnlyWhatRFC8259Requires() {
        XCTAssertEqual(JSONString.quoted("plain"), "\"plain\"")
        XCTAssertEqual(JSONString.quoted("a\"b\\c"), #""a\"b\\c""#)
        XCTAssertEqual(JSONString.quoted("\u{08}\u{0C}\n\r\t"), #""\b\f\n\r\t""#)
        XCTAssertEqual(JSONString.quoted("\u{01}\u{1F}\u{0B}"), #""\u0001\u001f\u000b""#)
        // DEL, slash and all of UTF-8 stay as they are.
        XCTAssertEqual(JSONString.quoted("\u{7F}/日本📈e\u{301}"), "\"\u{7F}/日本📈e\u{301}\"")
    }

    func testAgreesWithJSONSerializationOnEveryByte() throws {
        for byte in UInt8(0x00)...UInt8(0x7F) {
            let text = String(UnicodeScalar(byte))
            let quoted = JSONString.quoted("x" + text + "y")
            let decoded = try JSONSerialization.jsonObject(with: Data(quoted.utf8), options: .fragmentsAllowed) as? String
            XCTAssertEqual(decoded, "x" + text + "y", "byte \(byte)")
        }
    }
}

final class CopyTextTests: XCTestCase {
    func unescape(_ field: String) -> [UInt8] {
        let out = ByteBuffer()
        Array(field.utf8).withUnsafeBytes { CopyText.unescape($0, into: out) }
        return out.array
    }

    func testResolvesEveryEscapeOfTheCopyTextFormat() {
        XCTAssertEqual(unescape(#"a\tb\nc\\d"#), Array("a\tb\nc\\d".utf8))
        XCTAssertEqual(unescape(#"\b\f\r\v"#), [0x08, 0x0C, 0x0D, 0x0B])
        XCTAssertEqual(unescape(#"\101\0\x41\x7"#), [0x41, 0x00, 0x41, 0x07])
        XCTAssertEqual(unescape(#"\q\N"#), Array("qN".utf8))
    }

    func testEscapeIsTheInverseOfUnescape() {
        let value = Array("tab\there\nnew\\back\u{08}\u{0C}\r\u{0B}end".utf8)
        let escaped = ByteBuffer()
        value.withUnsafeBytes { CopyText.escape($0, into: escaped) }
        let back = ByteBuffer()
        CopyText.unescape(escaped.bytes, into: back)
        XCTAssertEqual(back.array, value)
        XCTAssertFalse(escaped.array.contains(0x09))
        XCTAssertFalse(escaped.array.contains(0x0A))
    }
}
