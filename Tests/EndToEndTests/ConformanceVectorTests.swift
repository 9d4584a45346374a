import Foundation
import TestSupport
import XCTest

/// The conformance vectors of docs/FORMAT.md (fixtures/format/, written once by its
/// generate.py): pgseal's deep level and the independent reader (scripts/reference_reader.py)
/// must each reach every vector's verdict, and name its place when it fails.
final class ConformanceVectorTests: XCTestCase {
    func testBothReadersReachEveryVectorsVerdict() throws {
        let root = Repository.path("fixtures/format")
        let index = try JSONDocument(file: root + "/vectors.json")
        let signers = root + "/" + (try index["allowed_signers"].string())
        let identity = root + "/" + (try index["identity"].string())
        let vectors = try index["vectors"].array()
        XCTAssertGreaterThanOrEqual(vectors.count, 13)
        var disagreements: [String] = []
        for vector in vectors {
            let name = try vector["name"].string()
            let archive = root + "/" + (try vector["archive"].string())
            let expected = try vector["verdict"].string() == "ok" ? Int32(0) : Int32(1)
            let place = try? vector["place"].string()
            let pgseal = try PGSealCLI.run(["verify", archive, "--level", "deep", "--trusted-key", signers, "-i", identity])
            let reference = try Command.run(["python3", Repository.path("scripts/reference_reader.py"), archive,
                                             "--allowed-signers", signers, "--identity", identity])
            for (reader, result) in [("pgseal", pgseal), ("reference reader", reference)] {
                if result.status != expected {
                    disagreements.append("\(name): \(reader) exits \(result.status), the vector says \(expected) (\(try vector["why"].string())): \(result.out)\(result.err)")
                } else if let place, !(result.out + result.err).contains(place) {
                    disagreements.append("\(name): \(reader) does not name \(place): \(result.out)\(result.err)")
                }
            }
        }
        XCTAssertEqual(disagreements, [], disagreements.joined(separator: "\n\n"))
    }
}
