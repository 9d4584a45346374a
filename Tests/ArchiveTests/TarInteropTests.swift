import ArchiveFormat
import ByteStreams
import Foundation
import TestSupport
import XCTest

final class TarInteropTests: XCTestCase {
    func write(_ entries: [(String, [UInt8])], compression: Compression) throws -> [UInt8] {
        let sink = MemorySink()
        let writer = try TarWriter(sink: sink, compression: compression, modificationTime: 1_764_000_000)
        for (path, contents) in entries {
            try contents.withUnsafeBytes { try writer.addFile(path: path, contents: $0) }
        }
        try writer.close()
        XCTAssertTrue(sink.closed)
        return sink.bytes
    }

    func testRealTarAndZstdReadWhatTarWriterWrites() throws {
        let big = (0..<3_000_000).map { UInt8(truncatingIfNeeded: $0 % 251) }
        let entries: [(String, [UInt8])] = [("data/public.users/000001.jsonl", Array("{\"id\":1}\n".utf8)),
                                            ("data/public.日本/000001.jsonl", big), ("manifest.json", Array("{}".utf8))]
        let directory = try TemporaryDirectory()
        for (compression, name) in [(Compression.zstd(level: 3, threads: 0), "a.tar.zst"), (.zstd(level: 1, threads: 2), "t.tar.zst"),
                                    (.gzip(level: 6), "a.tar.gz"), (.none, "a.tar")] {
            let archive = directory.file(name)
            FileManager.default.createFile(atPath: archive, contents: Data(try write(entries, compression: compression)))
            let decompress = compression == .none ? "cat" : compression.name == "gzip" ? "gzip -dc" : "zstd -dc"
            let listing = try Command.run(["bash", "-c", "set -o pipefail; \(decompress) \"$0\" | tar -t", archive])
            XCTAssertEqual(listing.status, 0, listing.err)
            XCTAssertEqual(listing.out.split(separator: "\n").map(String.init), entries.map(\.0))
            let extracted = try Command.run(["bash", "-c", "set -o pipefail; \(decompress) \"$0\" | tar -xO 'data/public.日本/000001.jsonl' | sha256sum", archive])
            XCTAssertEqual(extracted.status, 0, extracted.err)
            XCTAssertEqual(String(extracted.out.prefix(64)), try SHA256Of.bytes(big))
        }
    }

    func testTarReaderReadsWhatRealTarAndZstdWrite() throws {
        let directory = try TemporaryDirectory()
        try FileManager.default.createDirectory(atPath: directory.file("in/data"), withIntermediateDirectories: true)
        FileManager.default.createFile(atPath: directory.file("in/data/a.jsonl"), contents: Data("{\"a\":1}\n".utf8))
        FileManager.default.createFile(atPath: directory.file("in/manifest.json"), contents: Data("{\"format\":\"x\"}".utf8))
        let made = try Command.run(["bash", "-c", "cd \"$0/in\" && tar --format=pax -c data/a.jsonl manifest.json | zstd -q -3 > ../x.tar.zst", directory.path])
        XCTAssertEqual(made.status, 0, made.err)
        let reader = try TarReader(source: try TestFileSource(path: directory.file("x.tar.zst")))
        var seen: [String: [UInt8]] = [:]
        while let entry = try reader.nextEntry() { seen[entry.path] = try reader.readAll(entry, limit: 1 << 20) }
        XCTAssertEqual(seen["data/a.jsonl"], Array("{\"a\":1}\n".utf8))
        XCTAssertEqual(seen["manifest.json"], Array("{\"format\":\"x\"}".utf8))
    }

    func testTruncatedArchiveIsAnError() throws {
        let bytes = try write([("a", Array(repeating: 7, count: 500_000))], compression: .zstd(level: 3, threads: 0))
        XCTAssertThrowsError(try {
            let reader = try TarReader(source: MemorySource(Array(bytes.prefix(bytes.count / 2))))
            while let entry = try reader.nextEntry() { _ = try reader.readAll(entry, limit: 1 << 30) }
        }())
    }

    /// The bounds a reader holds a tar stream to (SECURITY.md): the whole stream to what its
    /// object may expand to, and one metadata entry (the manifest, tables.json) to its limit —
    /// each an error that names the bound, before the bytes past it are taken in.
    func testTheStreamAndItsMetadataEntriesAreBounded() throws {
        let bytes = try write([("data/public.users/000001.jsonl", Array(repeating: 0x61, count: 3 << 20)), ("manifest.json", Array("{}".utf8))],
                              compression: .zstd(level: 3, threads: 0))
        XCTAssertLessThan(bytes.count, 64 << 10, "a small object that expands 50 times")
        XCTAssertThrowsError(try {
            let reader = try TarReader(source: MemorySource(bytes), limit: 1 << 20)
            while let entry = try reader.nextEntry() { _ = try reader.readAll(entry, limit: 8 << 20) }
        }()) { XCTAssertTrue("\($0)".contains("past 1048576 bytes") && "\($0)".contains("decompression bomb"), "\($0)") }

        XCTAssertThrowsError(try {
            let reader = try TarReader(source: MemorySource(bytes))
            guard let entry = try reader.nextEntry() else { return }
            _ = try reader.readAll(entry, limit: ArchiveManifest.sizeLimit >> 4)
        }()) { XCTAssertTrue("\($0)".contains("data/public.users/000001.jsonl is larger than the bound on a metadata entry, \(ArchiveManifest.sizeLimit >> 4) bytes"), "\($0)") }
        XCTAssertEqual(ArchiveManifest.sizeLimit, 32 << 20, "SECURITY.md's metadata bound")
    }

    func testSinkErrorsComeBackOutOfLibarchive() throws {
        final class FailingSink: ByteSink {
            struct Full: Error, CustomStringConvertible { var description: String { "disk full" } }
            func write(_ data: UnsafeRawBufferPointer) throws { throw Full() }
            func close() throws {}
        }
        let writer = try TarWriter(sink: FailingSink(), compression: .none, modificationTime: 0)
        XCTAssertThrowsError(try {
            try Array(repeating: UInt8(1), count: 1 << 20).withUnsafeBytes { try writer.addFile(path: "a", contents: $0) }
            try writer.close()
        }()) { error in
            XCTAssertEqual("\(error)", "disk full")
        }
    }
}

enum SHA256Of {
    /// The real sha256sum's digest; an error when it fails (an empty digest would compare
    /// unequal by luck only).
    static func bytes(_ bytes: [UInt8]) throws -> String {
        let path = NSTemporaryDirectory() + "sha-\(UUID().uuidString)"
        FileManager.default.createFile(atPath: path, contents: Data(bytes))
        defer { try? FileManager.default.removeItem(atPath: path) }
        let result = try Command.run(["sha256sum", path])
        guard result.status == 0, result.out.count >= 64 else { throw TestSetupError("sha256sum failed: \(result.err)") }
        return String(result.out.prefix(64))
    }
}

