import CanonicalJSON
import Cryptography
import XCTest

final class RowEncoderTests: XCTestCase {
    func encode(_ line: String, _ columns: [(String, ColumnEncoding)], key: [Int] = []) throws -> (String, RowEncoder, ByteBuffer) {
        let encoder = RowEncoder(columns: columns.map { ColumnSpec(name: $0.0, encoding: $0.1) }, keyColumnIndexes: key)
        let out = ByteBuffer()
        let range = try Array(line.utf8).withUnsafeBytes { try encoder.encode(copyLine: $0, into: out) }
        return (String(decoding: out.bytes(range), as: UTF8.self), encoder, out)
    }

    func value(_ field: String, _ encoding: ColumnEncoding) throws -> String {
        let (line, _, _) = try encode(field + "\n", [("v", encoding)])
        return String(line.dropFirst(5).dropLast())
    }

    func testScalarEncodings() throws {
        XCTAssertEqual(try value("-42", .integer), "-42")
        XCTAssertEqual(try value("1e+20", .float), "1e+20")
        XCTAssertEqual(try value("NaN", .float), "\"NaN\"")
        XCTAssertEqual(try value("-Infinity", .float), "\"-Infinity\"")
        XCTAssertEqual(try value("-0.5", .float), "-0.5")
        XCTAssertEqual(try value("123.4500", .numeric), "\"123.4500\"")
        XCTAssertEqual(try value("t", .boolean), "true")
        XCTAssertEqual(try value("f", .boolean), "false")
        XCTAssertEqual(try value(#"\N"#, .text), "null")
        XCTAssertEqual(try value(#"a\tb\\c"#, .text), #""a\tb\\c""#)
    }

    func testTimestamptzBecomesRFC3339UTC() throws {
        XCTAssertEqual(try value("2026-11-24 18:00:00.123456+00", .timestamptz), "\"2026-11-24T18:00:00.123456Z\"")
        XCTAssertEqual(try value("1969-07-20 20:17:40+00", .timestamptz), "\"1969-07-20T20:17:40Z\"")
        XCTAssertEqual(try value("10000-01-01 00:00:00+00", .timestamptz), "\"10000-01-01T00:00:00Z\"")
        XCTAssertEqual(try value("0044-03-15 12:00:00+00 BC", .timestamptz), "\"-0043-03-15T12:00:00Z\"")
        XCTAssertEqual(try value("0001-01-01 00:00:00+00 BC", .timestamptz), "\"0000-01-01T00:00:00Z\"")
        XCTAssertEqual(try value("infinity", .timestamptz), "\"infinity\"")
        XCTAssertEqual(try value("-infinity", .timestamptz), "\"-infinity\"")
    }

    func testJSONIsEmbeddedWithoutInsignificantWhiteSpace() throws {
        // COPY text escapes the newline and the backslash of the JSON text.
        XCTAssertEqual(try value(#"{\n  "a": [1, 2],\t"s": "x \\" y\\n"\n}"#, .json), #"{"a":[1,2],"s":"x \" y\n"}"#)
        XCTAssertEqual(try value("null", .json), "null")
    }

    func testArraysBecomeNestedJSONArrays() throws {
        let ints = ColumnEncoding.array(element: .integer, delimiter: UInt8(ascii: ","))
        let texts = ColumnEncoding.array(element: .text, delimiter: UInt8(ascii: ","))
        XCTAssertEqual(try value("{1,NULL,-3}", ints), "[1,null,-3]")
        XCTAssertEqual(try value("{{1,2},{3,4}}", ints), "[[1,2],[3,4]]")
        XCTAssertEqual(try value("{}", ints), "[]")
        XCTAssertEqual(try value("[0:1]={7,8}", ints), "[7,8]")
        XCTAssertEqual(try value(#"{"a b","c\\"d",NULL,"NULL",""}"#, texts), #"["a b","c\"d",null,"NULL",""]"#)
    }

    func testRowHasColumnsInOrderAndRemembersKeyValues() throws {
        let (line, encoder, out) = try encode("7\tx\t\\N\n", [("id", .integer), ("name", .text), ("note", .text)], key: [0, 1])
        XCTAssertEqual(line, #"{"id":7,"name":"x","note":null}"#)
        XCTAssertEqual(String(decoding: out.bytes(encoder.keyValueRange(0)), as: UTF8.self), "7")
        XCTAssertEqual(String(decoding: out.bytes(encoder.keyValueRange(1)), as: UTF8.self), #""x""#)
    }

    func testWrongFieldCountIsAnError() {
        XCTAssertThrowsError(try encode("1\t2\t3\n", [("a", .integer), ("b", .integer)]))
        XCTAssertThrowsError(try encode("1\n", [("a", .integer), ("b", .integer)]))
    }

    func testTableDigestIsSHA256OverHexRowHashLines() {
        let lines = [#"{"id":1}"#, #"{"id":2}"#]
        let digest = TableDigest()
        for line in lines { Array(line.utf8).withUnsafeBytes { _ = digest.add(row: $0) } }
        let expected = SHA256Hasher.hash(Array(lines.map { SHA256Hasher.hash(Array($0.utf8)).hex + "\n" }.joined().utf8))
        XCTAssertEqual(digest.finalize(), expected)
        // Empty table: the SHA-256 of nothing.
        XCTAssertEqual(TableDigest().finalize().hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
    }
}
