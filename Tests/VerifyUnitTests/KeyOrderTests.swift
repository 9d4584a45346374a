import ArchiveFormat
import ArchiveReading
import CanonicalJSON
@testable import Verify
import XCTest

/// The deep level's order check compares key values as the format orders them (docs/FORMAT.md
/// 3.2): integers as numbers, timestamps in time order, text by its UTF-8 bytes.
final class KeyOrderTests: XCTestCase {
    func assertAscending(_ values: [String], as encoding: ColumnEncoding, file: StaticString = #filePath, line: UInt = #line) {
        for (a, b) in zip(values, values.dropFirst()) {
            XCTAssertEqual(KeyOrder.compare(Array(a.utf8), Array(b.utf8), as: encoding), .orderedAscending, "\(a) < \(b)", file: file, line: line)
            XCTAssertEqual(KeyOrder.compare(Array(b.utf8), Array(a.utf8), as: encoding), .orderedDescending, "\(b) > \(a)", file: file, line: line)
        }
        for value in values {
            XCTAssertEqual(KeyOrder.compare(Array(value.utf8), Array(value.utf8), as: encoding), .orderedSame, value, file: file, line: line)
        }
    }

    func testIntegersCompareAsNumbersNotText() {
        assertAscending(["-9223372036854775808", "-10", "-9", "-1", "0", "2", "9", "10", "100", "9223372036854775807"], as: .integer)
    }

    func testTimestampsCompareInTimeOrder() {
        assertAscending([#""-infinity""#, #""-0043-03-15T12:00:00Z""#, #""0000-01-01T00:00:00Z""#, #""1969-07-20T20:17:40Z""#,
                         #""1969-07-20T20:17:40.5Z""#, #""2026-11-24T18:00:00Z""#, #""9999-12-31T23:59:59.999999Z""#,
                         #""10000-01-01T00:00:00Z""#, #""infinity""#], as: .timestamptz)
    }

    func testTextComparesByUTF8BytesWithEscapesResolved() {
        // "B" (0x42) < "a" (0x61) < "z" (0x7A) < "é" (0xC3 0xA9): byte order, not a locale's.
        assertAscending([#""""#, #""B""#, #""a""#, #""a\"b""#, #""ab""#, #""z""#, #""é""#], as: .text)
        // An escape sorts as the character it stands for: "\t" (0x09) before "!" (0x21).
        XCTAssertEqual(KeyOrder.compare(Array(#""\t""#.utf8), Array(#""!""#.utf8), as: .text), .orderedAscending)
    }

    func testChunkEntriesNameTheirTable() {
        XCTAssertEqual(ChunkPath.tableName(of: "data/public.users/000001.jsonl"), "public.users")
        for other in ["data/public.users/1.jsonl", "data/users/000001.jsonl", "manifest.json", "data/public.users/000001.json",
                      "data/a.b/c/000001.jsonl", "data/public.users/٠٠٠٠٠١.jsonl"] {
            XCTAssertNil(ChunkPath.tableName(of: other), other)
        }
    }
}
