import ArchiveFormat
import ArchiveReading
import Cryptography
import Foundation
import TestSupport
@testable import Verify
import XCTest

/// The read-ahead stream gives what the tar reader gives, hashes what it reads, hands the
/// reading thread's errors over where they happen, and stops when asked.
final class TarReadAheadTests: XCTestCase {
    /// A zstd tar of `entries` (path, size), each filled with a pattern of its own.
    func tarball(_ entries: [(String, Int)]) throws -> [UInt8] {
        let sink = MemorySink()
        let tar = try TarWriter(sink: sink, compression: .zstd(level: 3, threads: 0), modificationTime: 0)
        for (path, size) in entries {
            // Pseudo-random, so that the compressed stream is about as long as the data.
            var state = UInt64(truncatingIfNeeded: path.utf8.count) &+ 0x9E37_79B9_7F4A_7C15
            let bytes = (0..<size).map { _ -> UInt8 in
                state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
                return UInt8(truncatingIfNeeded: state >> 56)
            }
            try bytes.withUnsafeBytes { try tar.addFile(path: path, contents: $0) }
        }
        try tar.close()
        return sink.bytes
    }

    func testItReadsWhatTheReaderReadsAndHashesEachEntry() throws {
        let entries = [("a", 10), ("b", 3 << 20), ("c", 0), ("d", 300_000)]
        let bytes = try tarball(entries)
        var drained = false
        let ahead = TarReadAhead(try TarReader(source: MemorySource(bytes)), blockSize: 64 * 1024, depth: 3, after: { drained = true })
        var seen: [(String, Int, String)] = []
        while let entry = try ahead.nextEntry() {
            var data: [UInt8] = []
            try ahead.forEachBlock { data.append(contentsOf: $0) }
            XCTAssertEqual(ahead.lastEntrySHA256?.hex, SHA256Hasher.hash(data).hex, entry.path)
            seen.append((entry.path, data.count, SHA256Hasher.hash(data).hex))
        }
        try ahead.finish()
        XCTAssertTrue(drained, "the tail runs on the reading thread before the end")
        XCTAssertEqual(seen.map(\.0), entries.map(\.0))
        XCTAssertEqual(seen.map(\.1), entries.map(\.1))
    }

    func testEntriesLeftHalfReadAreSkippedAndStopJoinsAtOnce() throws {
        let bytes = try tarball([("big", 8 << 20), ("small", 5)])
        let ahead = TarReadAhead(try TarReader(source: MemorySource(bytes)), blockSize: 16 * 1024, depth: 2, after: {})
        XCTAssertEqual(try ahead.nextEntry()?.path, "big")
        XCTAssertEqual(try ahead.nextEntry()?.path, "small", "the rest of big is skipped")
        let stopped = Date()
        ahead.stop()
        XCTAssertLessThan(Date().timeIntervalSince(stopped), 5)
    }

    func testAnErrorOfTheReadingThreadIsThrownWhereTheCallerReads() throws {
        var bytes = try tarball([("a", 1 << 20), ("b", 1 << 20)])
        bytes.removeLast(bytes.count / 3)  // a cut stream: zstd or tar fails in the second entry
        let ahead = TarReadAhead(try TarReader(source: MemorySource(bytes)), blockSize: 16 * 1024, depth: 2, after: {})
        XCTAssertThrowsError(try {
            while try ahead.nextEntry() != nil { try ahead.forEachBlock { _ in } }
            try ahead.finish()
        }()) { error in
            XCTAssertTrue(error is ArchiveError, "\(error)")
        }
        struct TailFailed: Error {}
        let failing = TarReadAhead(try TarReader(source: MemorySource(try tarball([("a", 5)]))), after: { throw TailFailed() })
        XCTAssertThrowsError(try failing.finish()) { XCTAssertTrue($0 is TailFailed, "\($0)") }
    }
}
