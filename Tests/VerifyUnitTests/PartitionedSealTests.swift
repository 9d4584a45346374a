import Foundation
import ArchiveFormat
import ArchiveReading
import Cryptography
@testable import Verify
import TestSupport
import XCTest

/// What a partitioned seal must say of itself (docs/FORMAT.md §10.2), checked before any part
/// is read; and the names of parts.
final class PartitionedSealTests: XCTestCase {
    func part(_ name: String, _ tables: [SealPart.Table], size: Int64 = 10) -> SealPart {
        SealPart(object: name, size: size, sha256: String(repeating: "a", count: 64), manifestSHA256: String(repeating: "b", count: 64),
                 tablesSHA256: String(repeating: "c", count: 64), tables: tables)
    }

    /// FORMAT.md §10.2's L(x₁, …, xₙ), computed as the spec says an outsider may: what
    /// `sha256sum` prints for a file of those lines — not with pgseal's own hasher, which is
    /// what these tests judge.
    func listDigest(_ items: [String]) -> String {
        let result = try? Command.run(["sha256sum"], stdin: Data(items.map { $0 + "\n" }.joined().utf8))
        return String(result?.out.prefix(64) ?? "sha256sum failed")
    }

    func sealed(_ parts: [SealPart]) -> SealDocument {
        var tables: [SealDocument.Table] = []
        for name in parts.flatMap({ $0.tables.map(\.name) }) where !tables.contains(where: { $0.name == name }) {
            let pieces = parts.flatMap { $0.tables.filter { $0.name == name } }
            tables.append(.init(name: name, rows: pieces.reduce(0) { $0 + $1.rows }, digest: listDigest(pieces.map(\.digest))))
        }
        var seal = SealDocument(object: "p-20261203T000000Z.tar.zst.age", size: parts.reduce(0) { $0 + $1.size },
                                sha256: listDigest(parts.map { "\($0.sha256)  \($0.object)" }),
                                manifestSHA256: listDigest(parts.map(\.manifestSHA256)), createdAt: "2026-12-03T00:00:00Z",
                                profile: "p", encryption: "age-x25519", recipients: [], compression: "zstd", snapshot: "s", walLSN: "0/0",
                                tables: tables, signer: "", tool: "pgseal")
        seal.format = SealDocument.partitionedFormatIdentifier
        seal.parts = parts
        return seal
    }

    func range(_ from: String?, _ to: String?) -> PartRange { PartRange(column: "id", from: from, to: to) }

    func testASoundSealHasNoProblemAndEachFlawIsNamed() throws {
        let good = [
            part("p-20261203T000000Z.part-0001-of-0002.tar.zst.age", [.init(name: "public.t", rows: 5, digest: "d1", range: range(nil, "m")),
                                                                     .init(name: "public.small", rows: 2, digest: "d3", range: .whole)]),
            part("p-20261203T000000Z.part-0002-of-0002.tar.zst.age", [.init(name: "public.t", rows: 7, digest: "d2", range: range("m", nil))]),
        ]
        XCTAssertEqual(PartitionedSeal.problems(of: sealed(good)), [])
        // Round trip through the seal's own bytes.
        let decoded = try SealDocument.decode(try sealed(good).encoded())
        XCTAssertEqual(decoded.parts, good)
        XCTAssertEqual(decoded.seal(ofPart: good[1]).tables.map(\.rows), [7])

        var gap = good
        gap[1].tables[0].range = range("n", nil)
        XCTAssertTrue(PartitionedSeal.problems(of: sealed(gap)).contains { $0.contains("gap or overlap") })
        var open = good
        open[0].tables[0].range = range("a", "m")
        XCTAssertTrue(PartitionedSeal.problems(of: sealed(open)).contains { $0.contains("start and end open") })
        var twoColumns = good
        twoColumns[1].tables[0].range = PartRange(column: "other", from: "m", to: nil)
        XCTAssertTrue(PartitionedSeal.problems(of: sealed(twoColumns)).contains { $0.contains("one key column") })

        var seal = sealed(good)
        seal.tables[0].rows += 1
        XCTAssertTrue(PartitionedSeal.problems(of: seal).contains { $0.contains("do not add up") })
        seal = sealed(good)
        seal.size = Int64.max
        XCTAssertTrue(PartitionedSeal.problems(of: seal).contains { $0.contains("size") })
        seal = sealed(good)
        seal.parts?[0].size = Int64.max
        seal.parts?[1].size = Int64.max
        XCTAssertFalse(PartitionedSeal.problems(of: seal).isEmpty, "sizes that overflow are a problem, not a trap")
        seal = sealed(good)
        seal.parts?[0].tables[0].rows = Int.max
        seal.parts?[1].tables[0].rows = Int.max
        XCTAssertTrue(PartitionedSeal.problems(of: seal).contains { $0.contains("do not add up") })
        seal = sealed(good)
        seal.sha256 = String(repeating: "0", count: 64)
        XCTAssertTrue(PartitionedSeal.problems(of: seal).contains { $0.contains("sha256") })
        seal = sealed(good)
        seal.tables.removeLast()
        XCTAssertTrue(PartitionedSeal.problems(of: seal).contains { $0.contains("do not list") })
    }

    func testTheFormatTellsOneObjectFromParts() throws {
        var single = sealed([part("x.part-0001-of-0001.tar.zst.age", [.init(name: "public.t", rows: 1, digest: "d", range: .whole)])])
        single.format = SealDocument.formatIdentifier
        XCTAssertThrowsError(try SealDocument.decode(try single.encoded()), "a /1 seal with parts")
        var empty = sealed([])
        empty.parts = []
        XCTAssertThrowsError(try SealDocument.decode(try empty.encoded()), "a /2 seal without parts")
        var future = single
        future.format = "pgseal-seal/9"
        XCTAssertThrowsError(try SealDocument.decode(try future.encoded()))
    }

    func testPartNames() {
        let key = PartNaming.partKey(archive: "p/2026/12/03/p-20261203T000000Z.tar.zst.age", suffix: ".tar.zst.age", index: 2, count: 12)
        XCTAssertEqual(key, "p/2026/12/03/p-20261203T000000Z.part-0003-of-0012.tar.zst.age")
        XCTAssertEqual(PartNaming.archiveKey(ofPart: key), "p/2026/12/03/p-20261203T000000Z.tar.zst.age")
        XCTAssertEqual(PartNaming.position(ofPart: key)?.index, 2)
        XCTAssertEqual(PartNaming.position(ofPart: key)?.count, 12)
        XCTAssertNil(PartNaming.archiveKey(ofPart: "p/p-20261203T000000Z.tar.zst.age"))
        XCTAssertNil(PartNaming.position(ofPart: "p/x.part-0005-of-0004.tar.zst.age"), "a part past the count")
        XCTAssertNil(PartNaming.position(ofPart: "p/x.part-0000-of-0004.tar"), "parts count from 1")
    }
}
