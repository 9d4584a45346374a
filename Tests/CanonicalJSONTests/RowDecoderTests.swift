import CanonicalJSON
import XCTest

/// The row decoder on hostile rows: each must be an error naming what is wrong, never a trap.
/// The first cases are the traps found by hand before the fuzz harness existed.
final class RowDecoderTests: XCTestCase {
    let columns = [ColumnSpec(name: "id", encoding: .text), ColumnSpec(name: "n", encoding: .integer),
                   ColumnSpec(name: "at", encoding: .timestamptz), ColumnSpec(name: "doc", encoding: .jsonText)]

    func decode(_ line: String) -> Result<String, RowDecoder.DecodingError> {
        let decoder = RowDecoder(columns: columns)
        let out = ByteBuffer(capacity: 64)
        do {
            try Array(line.utf8).withUnsafeBytes { try decoder.decode(line: $0, into: out) }
            return .success(String(decoding: out.bytes, as: UTF8.self))
        } catch let error as RowDecoder.DecodingError {
            return .failure(error)
        } catch {
            XCTFail("\(error)")
            return .failure(.notCanonical("?"))
        }
    }

    func expectFailure(_ line: String, _ fragment: String, file: StaticString = #filePath, line number: UInt = #line) {
        switch decode(line) {
        case .success(let text): XCTFail("accepted: \(line) → \(text)", file: file, line: number)
        case .failure(let error): XCTAssertTrue("\(error)".contains(fragment), "\(line): \(error)", file: file, line: number)
        }
    }

    func testAWellFormedRowDecodes() {
        XCTAssertEqual(try decode(#"{"id":"a\tb","n":-7,"at":"-0043-03-15T12:00:00.5Z","doc":"null"}"#).get(),
                       "a\\tb\t-7\t0044-03-15 12:00:00.5+00 BC\tnull\n")
        XCTAssertEqual(try decode(#"{"id":"😀","n":0,"at":"infinity","doc":null}"#).get(), "😀\t0\tinfinity\t\\N\n")
    }

    /// Minimal escaping (FORMAT.md §3.1) is the only form: a character escaped that the
    /// canonical form writes as it is, or a short escape spelled long, is not a row pgseal wrote.
    func testEscapesTheCanonicalFormDoesNotWriteAreErrors() {
        for escaped in [#"\ud83d\ude00"#, #"\u0041"#, #"\/"#, #"\u000a"#, #"\u001B"#, #"\u00e9"#] {
            expectFailure(#"{"id":"x"# + escaped + #"","n":0,"at":"infinity","doc":null}"#, "canonical form")
        }
        XCTAssertNoThrow(try decode(#"{"id":"x\u001by","n":0,"at":"infinity","doc":null}"#).get(), "a control character's own escape")
    }

    func testSurrogatesThatAreNotPairsAreErrors() {
        expectFailure(#"{"id":"\ud800\u0041","n":1,"at":"infinity","doc":null}"#, "surrogate")
        expectFailure(#"{"id":"\ud800","n":1,"at":"infinity","doc":null}"#, "lone surrogate")
        expectFailure(#"{"id":"\udc00","n":1,"at":"infinity","doc":null}"#, "lone surrogate")
        expectFailure(#"{"id":"\ud800\","n":1}"#, "expected u")
    }

    func testTimestampsOutOfFormAreErrors() {
        for stamp in ["2026", "T", "Z", "-Z", "99999999999999999999-01-01T00:00:00Z", "2026-11-24T18:00:00.1234567Z",
                      "2026-11-24 18:00:00Z", "2026-1-24T18:00:00Z", "+2026-11-24T18:00:00Z",
                      // Found by the fuzzer's canonical property: forms the exporter never writes.
                      "-02019-01-01T00:10:29.000017Z", "02026-11-24T18:00:00Z", "-0000-01-01T00:00:00Z",
                      "2026-11-24T18:00:00.500000Z", "2026-11-24T18:00:00.0Z",
                      "2026-13-24T18:00:00Z", "2026-00-24T18:00:00Z", "2026-11-32T18:00:00Z", "2026-11-24T24:00:00Z",
                      "2026-11-24T18:60:00Z", "2026-11-24T18:00:60Z"] {
            expectFailure(#"{"id":"x","n":1,"at":"\#(stamp)","doc":null}"#, "timestamptz")
        }
        for stamp in ["10000-01-01T00:00:00Z", "-2019-01-01T00:00:00Z", "0000-01-01T00:00:00Z", "2026-11-24T18:00:00.000001Z"] {
            XCTAssertNoThrow(try decode(#"{"id":"x","n":1,"at":"\#(stamp)","doc":null}"#).get(), stamp)
        }
    }

    /// pgseal/1's embedded json (FORMAT.md §3.4): compact JSON by RFC 8259's grammar, the
    /// value's own string escapes kept — nothing else. The fuzzer found the decoder skipping
    /// over anything bracketed (white space, a bare word, a document type declaration).
    func testPgseal1EmbeddedJSONIsCompactJSONOnly() {
        let v1 = [ColumnSpec(name: "id", encoding: .integer), ColumnSpec(name: "j", encoding: .json)]
        func decode(_ value: String) throws -> String {
            let out = ByteBuffer(capacity: 64)
            try Array((#"{"id":1,"j":"# + value + "}").utf8).withUnsafeBytes { try RowDecoder(columns: v1).decode(line: $0, into: out) }
            return String(decoding: out.bytes, as: UTF8.self)
        }
        for good in [#"{"b":1,"a":[1,2.50,-3e+2]}"#, #""caf\u00e9 \/ \"q\"""#, #"[]"#, #"{}"#, #"[[[{"a":[true,false,null]}]]]"#, #"0"#, #"-0.5"#] {
            XCTAssertNoThrow(try decode(good), good)
        }
        XCTAssertEqual(try decode(#"{"a":1}"#), "1\t{\"a\":1}\n", "the value as PostgreSQL's text input")
        for bad in [#"{"a":1 }"#, "{\"a\":1\n}", #"{"a":ul}"#, #"{"a":[1,2],<!DOCTYPE x>"b":1}"#, #"[1,]"#, #"{"a"}"#, #"{"a":1,}"#,
                    #"[01]"#, #"{"a":"\q"}"#, "[\"a\u{01}\"]", #"{"a":[1,2}"#, #"tru"#, #"[1]]"#] {
            XCTAssertThrowsError(try decode(bad), bad)
        }
    }

    func testWrongShapesAreErrors() {
        expectFailure(#"[1,2]"#, "expected {")
        expectFailure(#"{"id":"x","n":1,"at":"infinity"}"#, "expected ,")
        expectFailure(#"{"id":"x","n":1,"at":"infinity","doc":null,"extra":1}"#, "more members")
        expectFailure(#"{"n":1,"id":"x","at":"infinity","doc":null}"#, "member 1")
        expectFailure(#"{"id":"x","n":1.5,"at":"infinity","doc":null}"#, "integer column")
        expectFailure(#"{"id":"x","n":"1","at":"infinity","doc":null}"#, "integer column")
        expectFailure(#"{"id":"x","n":1 2,"at":"infinity","doc":null}"#, "integer column")
        expectFailure(#"{"id":"a"#, "not terminated")
        expectFailure("{\"id\":\"a\u{01}b\",\"n\":1,\"at\":\"infinity\",\"doc\":null}", "control character")
        expectFailure(#"{"id":"\q","n":1,"at":"infinity","doc":null}"#, "bad escape")
    }

    func testInvalidUTF8IsAnError() {
        let decoder = RowDecoder(columns: columns)
        let out = ByteBuffer(capacity: 64)
        for bytes: [UInt8] in [[0x7B, 0xC0, 0x80], [0x7B, 0xED, 0xA0, 0x80], [0x7B, 0xF4, 0x90, 0x80, 0x80], [0x7B, 0xE2, 0x82]] {
            XCTAssertThrowsError(try bytes.withUnsafeBytes { try decoder.decode(line: $0, into: out) }) { error in
                XCTAssertTrue("\(error)".contains("UTF-8"), "\(error)")
            }
        }
    }

    func testDeepArraysAreRefusedNotRecursedInto() {
        let decoder = RowDecoder(columns: [ColumnSpec(name: "a", encoding: .array(element: .integer, delimiter: UInt8(ascii: ",")))])
        let out = ByteBuffer(capacity: 64)
        let deep = "{\"a\":" + String(repeating: "[", count: 100_000) + "}"
        XCTAssertThrowsError(try Array(deep.utf8).withUnsafeBytes { try decoder.decode(line: $0, into: out) }) { error in
            XCTAssertTrue("\(error)".contains("6 dimensions"), "\(error)")
        }
    }

    /// Members are handed back in the order asked for — a key declared (ticker, user_id) over
    /// columns (user_id, ticker) — and may be asked for twice.
    func testMembersComeBackInTheOrderAskedFor() throws {
        let line = Array(#"{"id":"a","n":7,"at":null,"doc":"{}"}"#.utf8)
        let values = try line.withUnsafeBytes { try MemberSelection(memberCount: 4, indexes: [3, 0, 1, 0]).values(of: $0) }
        XCTAssertEqual(values.map { String(decoding: $0, as: UTF8.self) }, [#""{}""#, #""a""#, "7", #""a""#])
        let one = try line.withUnsafeBytes { try RowDecoder.memberValues(of: $0, memberCount: 4, indexes: [1]) }
        XCTAssertEqual(one.map { String(decoding: $0, as: UTF8.self) }, ["7"])
    }
}
