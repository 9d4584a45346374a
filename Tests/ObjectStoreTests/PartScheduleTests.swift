@testable import ObjectStore
import XCTest

/// A multipart upload of unknown length must fit S3's 10,000 parts.
final class PartScheduleTests: XCTestCase {
    func testPartsGrowSoThatATerabyteFitsInTenThousandParts() {
        let base = 16 << 20
        XCTAssertEqual(S3MultipartWriter.partSize(forPart: 1, base: base), base)
        XCTAssertEqual(S3MultipartWriter.partSize(forPart: 2000, base: base), base)
        XCTAssertEqual(S3MultipartWriter.partSize(forPart: 2001, base: base), 2 * base)
        XCTAssertEqual(S3MultipartWriter.partSize(forPart: 9999, base: base), 16 * base)
        // The pgseal default reaches 968 GiB; S3's own limits are 5 GiB a part, 5 TiB an object.
        XCTAssertGreaterThan(S3MultipartWriter.capacity(base: base), 900 << 30)
        XCTAssertLessThanOrEqual(S3MultipartWriter.partSize(forPart: 9999, base: 320 << 20), 5 << 30)
    }
}
