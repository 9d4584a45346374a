import ArchiveFormat
@testable import ArchiveReading
import ByteStreams
import XCTest

/// The object held to its seal while it streams (SECURITY.md, "The gate", step 2): a read
/// stops at once when more bytes arrive than the seal states — a store that serves an endless
/// object costs a reader one buffer past the sealed size, never the rest.
final class SealBoundSourceTests: XCTestCase {
    /// An object that never ends, counting what it was asked for.
    final class EndlessSource: ByteSource {
        var served: Int64 = 0
        func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
            buffer.initializeMemory(as: UInt8.self, repeating: 0x61)
            served += Int64(buffer.count)
            return buffer.count
        }
    }

    func seal(size: Int64) -> SealDocument {
        SealDocument(object: "p-20261205T000000Z.tar.zst.age", size: size, sha256: String(repeating: "0", count: 64),
                     manifestSHA256: String(repeating: "0", count: 64), createdAt: "2026-12-05T00:00:00Z", profile: "p",
                     encryption: "none", recipients: [], compression: "zstd", snapshot: "s", walLSN: "0/0", tables: [], signer: "", tool: "pgseal")
    }

    func testAnEndlessObjectIsRefusedOneBufferPastItsSealedSize() throws {
        let endless = EndlessSource()
        let bound = SealBoundSource(endless, seal: seal(size: 1_000_000))
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 64 * 1024, alignment: 16)
        defer { buffer.deallocate() }
        var problem: Error?
        do {
            while try bound.read(into: buffer) > 0 {}
        } catch { problem = error }
        XCTAssertTrue("\(problem.map { "\($0)" } ?? "no error")".contains("more than the 1000000 bytes the seal states"), "\(String(describing: problem))")
        XCTAssertLessThanOrEqual(endless.served, 1_000_000 + Int64(buffer.count), "read past the sealed size by more than one buffer")
        // Nothing more is taken from the source once the bound is crossed.
        let before = endless.served
        XCTAssertThrowsError(try bound.read(into: buffer))
        XCTAssertEqual(endless.served, before)
    }
}
