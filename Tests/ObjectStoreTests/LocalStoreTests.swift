import Foundation
import ObjectStore
import XCTest

final class LocalStoreTests: XCTestCase {
    var root: String!

    override func setUpWithError() throws {
        root = NSTemporaryDirectory() + "pgseal-store-\(UUID().uuidString)"
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(atPath: root)
    }

    func files() -> [String] {
        (FileManager.default.enumerator(atPath: root)?.allObjects as? [String] ?? []).sorted()
    }

    func testNothingUnderTheFinalNameUntilClose() throws {
        let store = try LocalStore(root: root)
        let writer = try store.createObject(key: "p/2026/11/24/a.tar.zst")
        try writer.write(Array("hello".utf8))
        XCTAssertFalse(store.exists(key: "p/2026/11/24/a.tar.zst"))
        XCTAssertTrue(files().contains { $0.contains(".a.tar.zst.partial-") })
        try writer.close()
        XCTAssertTrue(store.exists(key: "p/2026/11/24/a.tar.zst"))
        XCTAssertEqual(FileManager.default.contents(atPath: store.location(of: "p/2026/11/24/a.tar.zst")), Data("hello".utf8))
        XCTAssertFalse(files().contains { $0.contains(".partial-") })
    }

    func testAbortAndDroppingTheWriterLeaveNothing() throws {
        let store = try LocalStore(root: root)
        let writer = try store.createObject(key: "x/aborted")
        try writer.write(Array("partial".utf8))
        writer.abort()
        do {
            let dropped = try store.createObject(key: "x/dropped")
            try dropped.write(Array("partial".utf8))
        }
        XCTAssertEqual(files(), ["x"])
    }

    func testNeverOverwritesAnExistingObject() throws {
        let store = try LocalStore(root: root)
        try store.put(key: "k", contents: Array("first".utf8))
        XCTAssertThrowsError(try store.put(key: "k", contents: Array("second".utf8))) { error in
            XCTAssertTrue("\(error)".contains("already exists"), "\(error)")
        }
        XCTAssertEqual(FileManager.default.contents(atPath: store.location(of: "k")), Data("first".utf8))
    }

    func testReadsBackWhatWasWritten() throws {
        let store = try LocalStore(root: root)
        let payload = (0..<200_000).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        try store.put(key: "data", contents: payload)
        var read: [UInt8] = []
        try store.open(key: "data").forEachBlock(size: 4096) { read.append(contentsOf: $0) }
        XCTAssertEqual(read, payload)
        XCTAssertThrowsError(try store.open(key: "missing"))
    }

    func testStalePartialFilesOfKilledWritersAreRemoved() throws {
        let store = try LocalStore(root: root)
        try store.put(key: "p/2026/a.tar.zst", contents: [1])
        let old = root + "/p/2026/.b.tar.zst.partial-1234"
        let fresh = root + "/p/2026/.c.tar.zst.partial-5678"
        FileManager.default.createFile(atPath: old, contents: Data([2]))
        FileManager.default.createFile(atPath: fresh, contents: Data([3]))
        try FileManager.default.setAttributes([.modificationDate: Date().addingTimeInterval(-7200)], ofItemAtPath: old)
        XCTAssertEqual(try store.removeStaleUploads(under: "p/", olderThan: 3600), 1)
        XCTAssertFalse(FileManager.default.fileExists(atPath: old))
        XCTAssertTrue(FileManager.default.fileExists(atPath: fresh), "a partial file younger than the age may be an export in progress")
        XCTAssertTrue(store.exists(key: "p/2026/a.tar.zst"))
    }
}
