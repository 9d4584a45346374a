import Foundation
import TestSupport
import XCTest

/// docs/DESIGN.md's rules of the house, held over the source: settings travel as values (the
/// environment is read at the edge alone), signals belong to the program, and the layers are
/// the ones drawn there.
final class HouseRulesTests: XCTestCase {
    /// Every Swift file under `directory` (relative to the repository), with its lines.
    func sources(under directory: String) throws -> [(path: String, lines: [String])] {
        try FileManager.default.subpathsOfDirectory(atPath: Repository.path(directory)).filter { $0.hasSuffix(".swift") }.sorted().map { path in
            let text = try String(contentsOfFile: Repository.path(directory + "/" + path), encoding: .utf8)
            return (directory + "/" + path, text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init))
        }
    }

    /// Lines of Sources matching `pattern`, outside comments, in files not under `allowed`.
    func lines(matching pattern: String, outside allowed: [String]) throws -> [String] {
        let expression = try NSRegularExpression(pattern: pattern)
        var found: [String] = []
        for (path, lines) in try sources(under: "Sources") where !allowed.contains(where: { path.hasPrefix($0) }) {
            for (number, line) in lines.enumerated() {
                let code = line.components(separatedBy: "//").first ?? line
                if expression.firstMatch(in: code, range: NSRange(code.startIndex..., in: code)) != nil { found.append("\(path):\(number + 1): \(line)") }
            }
        }
        return found
    }

    func testTheEnvironmentIsReadAtTheEdgeAloneAndNeverSet() throws {
        let reads = try lines(matching: #"ProcessInfo\.processInfo\.environment|\bgetenv\(|\bsetenv\(|\bunsetenv\(|\bputenv\("#,
                              outside: ["Sources/pgseal/CommandContext.swift"])
        XCTAssertEqual(reads, [], "the process environment is read in CommandContext alone, and set nowhere")
        let edge = try String(contentsOfFile: Repository.path("Sources/pgseal/CommandContext.swift"), encoding: .utf8)
        XCTAssertTrue(edge.contains("ProcessInfo.processInfo.environment"), "the edge reads the environment")
    }

    func testTheLibraryNeverTakesTheProcessSignalsOrEndsTheProcess() throws {
        let signals = try lines(matching: #"makeSignalSource|\bsignal\(SIG|\bsigaction\("#, outside: ["Sources/pgseal/"])
        XCTAssertEqual(signals, [], "only the command line handles signals")
        let exits = try lines(matching: #"(^|[^.\w])exit\(|Foundation\.exit\(|\bGlibc\.abort\(\)"#, outside: ["Sources/pgseal/"])
        XCTAssertEqual(exits, [], "the library never ends the process")
        // A trap is kept only where the platform itself is broken (no random bytes, no SHA-256,
        // no memory for a digest context): going on would be worse (docs/DESIGN.md).
        let traps = try lines(matching: #"fatalError\(|preconditionFailure\("#, outside: ["Sources/pgseal/", "Sources/Cryptography/Primitives.swift", "Sources/Cryptography/SHA256.swift"])
        XCTAssertEqual(traps, [], "the library traps only on a broken platform")
    }

    /// The modules' imports, as docs/DESIGN.md draws them: proving an archive never depends on
    /// the code that writes one, and writing never on the readers.
    func testTheLayersAreTheOnesDesignMdDraws() throws {
        let forbidden: [String: Set<String>] = [
            "ArchiveReading": ["Export", "Follow", "Restore", "Verify", "Operations", "PGSealKit"],
            "Restore": ["Export", "Follow", "Verify", "Operations", "PGSealKit"],
            "Verify": ["Export", "Follow", "Operations", "PGSealKit"],
            "Operations": ["Export", "Follow", "PGSealKit"],
            "EvidenceHTML": ["Export", "Follow", "PGSealKit"],
            "Export": ["ArchiveReading", "Follow", "Restore", "Verify", "Operations", "PGSealKit"],
            "ObjectStore": ["Settings", "Export", "ArchiveReading", "Restore", "Verify", "Operations"],
            "Cryptography": ["ArchiveFormat", "ObjectStore", "Export", "Verify"],
            "ChangeCapture": ["Export", "Follow", "ArchiveReading", "Restore", "Verify", "Operations", "ObjectStore", "Settings"],
        ]
        var found: [String] = []
        for (module, banned) in forbidden {
            for (path, lines) in try sources(under: "Sources/" + module) {
                for line in lines where line.hasPrefix("import ") || line.hasPrefix("@testable import ") {
                    if let imported = line.split(separator: " ").last.map(String.init), banned.contains(imported) { found.append("\(path): \(line)") }
                }
            }
        }
        XCTAssertEqual(found, [], "imports across the layers docs/DESIGN.md draws")
        let design = try String(contentsOfFile: Repository.path("docs/DESIGN.md"), encoding: .utf8)
        let readme = try String(contentsOfFile: Repository.path("README.md"), encoding: .utf8)
        let modules = try FileManager.default.contentsOfDirectory(atPath: Repository.path("Sources")).filter { !$0.hasPrefix("C") || $0 == "CanonicalJSON" || $0 == "Cryptography" }
        for module in modules {
            XCTAssertTrue(design.contains("`\(module)`") || module == "pgseal", "docs/DESIGN.md does not describe \(module)")
            XCTAssertTrue(readme.contains("Sources/\(module)"), "README.md's layout does not list \(module)")
        }
    }
}
