import Foundation
import TestSupport
import XCTest

/// The conformance vectors of docs/FORMAT.md (fixtures/format/, written once by its
/// generate.py): pgseal and the independent reader (scripts/reference_reader.py) must each
/// reach every vector's verdict, and name its place when it fails. An archive is judged by
/// `verify --level deep`; a series by `chain`, and whether its attestation is believed by
/// `check --require-deep-verified-within`; a base and its change segments by `chain` and a
/// replay (`verify --until latest`, or `--until-archive` a later exact base: continuity).
final class ConformanceVectorTests: XCTestCase {
    func testBothReadersReachEveryVectorsVerdict() throws {
        let root = Repository.path("fixtures/format")
        let index = try JSONDocument(file: root + "/vectors.json")
        let signers = root + "/" + (try index["allowed_signers"].string())
        let verifiers = root + "/" + (try index["allowed_verifiers"].string())
        let identity = root + "/" + (try index["identity"].string())
        let reader = ["python3", Repository.path("scripts/reference_reader.py"), "--allowed-signers", signers]
        let vectors = try index["vectors"].array()
        XCTAssertGreaterThanOrEqual(vectors.count, 76)
        var disagreements: [String] = []
        var kinds: [String: Int] = [:]
        for vector in vectors {
            let name = try vector["name"].string()
            let why = try vector["why"].string()
            let expected: Int32 = switch try vector["verdict"].string() { case "ok": 0; case "fail": 1; default: 2 }
            let place = try? vector["place"].string()
            var results: [(String, CommandResult, Int32)] = []
            let kind = try vector["kind"].string()
            kinds[kind, default: 0] += 1
            if kind == "series" {
                let store = root + "/" + (try vector["store"].string())
                let profile = try vector["profile"].string()
                let attested = try vector["attested"].bool()
                results.append(("pgseal chain", try PGSealCLI.run(["chain", store, "--profile", profile, "--trusted-key", signers]), expected))
                results.append(("pgseal check", try PGSealCLI.run(["check", store, "--profile", profile, "--trusted-key", signers, "--max-age", "36500d",
                                                                   "--require-deep-verified-within", "36500d", "--trusted-verifier", verifiers]), attested ? 0 : 1))
                let reference = try Command.run(reader + ["--series", store, "--profile", profile, "--allowed-verifiers", verifiers])
                results.append(("reference reader", reference, expected))
                let believed = reference.out.split(separator: "\n").contains { $0.hasPrefix("attested deep ") }
                if believed != attested { disagreements.append("\(name): the reference reader believes the attestation: \(believed), the vector says \(attested) (\(why)): \(reference.out)") }
            } else if kind == "changes" {
                // pgseal reads a series of segments twice: chain (seals, links, bases, ranges)
                // and a replay of the base's chain (every object, line and count); it reaches
                // the vector's verdict when the worse of the two does.
                let store = root + "/" + (try vector["store"].string())
                let profile = try vector["profile"].string()
                let base = root + "/" + (try vector["base"].string())
                // With a later base at an exact position: the replay up to it, held to its digests (§11.5).
                let later = (try? vector["until_archive"].string()).map { root + "/" + $0 }
                let chain = try PGSealCLI.run(["chain", store, "--profile", profile, "--trusted-key", signers])
                let replay = try PGSealCLI.run(["verify", base, "--level", "restore"] + (later.map { ["--until-archive", $0] } ?? ["--until", "latest"])
                                               + ["--scratch-db", try PostgresServer.shared().superuserURL, "--trusted-key", signers, "-i", identity])
                let worse: Int32 = [chain.status, replay.status].contains(2) ? 2 : max(chain.status, replay.status)
                results.append(("pgseal chain + verify --until latest",
                                CommandResult(status: worse, stdout: chain.stdout + replay.stdout, stderr: chain.stderr + replay.stderr), expected))
                results.append(("reference reader", try Command.run(reader + ["--series", store, "--profile", profile, "--identity", identity, "--replay", base]
                                                                    + (later.map { ["--until-archive", $0] } ?? [])), expected))
            } else {
                let archive = root + "/" + (try vector["archive"].string())
                results.append(("pgseal", try PGSealCLI.run(["verify", archive, "--level", "deep", "--trusted-key", signers, "-i", identity]), expected))
                results.append(("reference reader", try Command.run(reader + [archive, "--identity", identity]), expected))
                // With a server, the restore level judges what a reader without one must leave
                // alone (a numeric key's order) and reads pgseal/1 as version 1 wrote it.
                if let restore = try? vector["restore"]["verdict"].string() {
                    let verified = try PGSealCLI.run(["verify", archive, "--level", "restore", "--scratch-db", try PostgresServer.shared().superuserURL,
                                                      "--trusted-key", signers, "-i", identity])
                    let status: Int32 = restore == "ok" ? 0 : 1
                    if verified.status != status {
                        disagreements.append("\(name): pgseal at level restore exits \(verified.status), the vector says \(status): \(verified.out)\(verified.err)")
                    } else if let place = try? vector["restore"]["place"].string(), !(verified.out + verified.err).contains(place) {
                        disagreements.append("\(name): pgseal at level restore does not name \(place): \(verified.out)\(verified.err)")
                    }
                }
            }
            for (who, result, status) in results {
                if result.status != status {
                    disagreements.append("\(name): \(who) exits \(result.status), the vector says \(status) (\(why)): \(result.out)\(result.err)")
                } else if let place, who != "pgseal check", !(result.out + result.err).contains(place) {
                    disagreements.append("\(name): \(who) does not name \(place): \(result.out)\(result.err)")
                }
            }
        }
        XCTAssertEqual(disagreements, [], disagreements.joined(separator: "\n\n"))
        XCTAssertGreaterThanOrEqual(kinds["series"] ?? 0, 10, "\(kinds)")
        XCTAssertGreaterThanOrEqual(kinds["changes"] ?? 0, 22, "\(kinds)")
    }

    /// A segment in the middle of a chain signed by an untrusted key is one break, at its place:
    /// nothing it says is believed, so the segment after it is judged neither against its range
    /// nor as the first of a new chain (whose start would be its base's position).
    func testAnUnverifiableSegmentIsOneBreakAndTheChainGoesOn() throws {
        let root = Repository.path("fixtures/format")
        let work = try TemporaryDirectory()
        XCTAssertEqual(try Command.run(["cp", "-r", root + "/vectors/changes-good", work.file("store")]).status, 0)
        XCTAssertEqual(try PGSealCLI.run(["keygen", "--out", work.file("stranger")]).status, 0)
        let folder = work.file("store/follow/changes")
        let segments = ExportFixture.files(below: folder).filter { $0.hasSuffix(".tar.zst.age.seal") }.sorted().map { folder + "/" + $0 }
        XCTAssertEqual(segments.count, 3)
        let middle = segments[1]
        try FileManager.default.removeItem(atPath: middle + ".sig")
        let signed = try Command.run(["ssh-keygen", "-Y", "sign", "-q", "-f", work.file("stranger/signing-key"), "-n", "pgseal", middle])
        XCTAssertEqual(signed.status, 0, signed.err)
        let signers = root + "/keys/allowed_signers"
        let chain = try PGSealCLI.run(["chain", work.file("store"), "--profile", "follow", "--trusted-key", signers, "--json"])
        XCTAssertEqual(chain.status, 1, chain.err)
        let profile = try XCTUnwrap(try JSONDocument(data: chain.stdout)["profiles"].array().first)
        XCTAssertEqual(try profile["breaks"].array().map { try $0["kind"].string() }, ["segment-unverifiable"], chain.out)
        XCTAssertEqual(try profile["change_chains"].array().count, 1, chain.out)
        let reader = try Command.run(["python3", Repository.path("scripts/reference_reader.py"), "--allowed-signers", signers,
                                      "--series", work.file("store"), "--profile", "follow"])
        XCTAssertEqual(reader.status, 1, reader.err)
        XCTAssertEqual(reader.out.split(separator: "\n").filter { $0.hasPrefix("FAIL ") }.count, 1, reader.out)
    }

    /// A pgseal/1 archive (the vector) is restored into an empty database, and diff then finds
    /// the database equal to it: its embedded json and JSON arrays are read as version 1 wrote
    /// them, on the way in and on the way back (FORMAT.md §3.4).
    func testAPgseal1ArchiveRestoresAndDiffsEqual() throws {
        let root = Repository.path("fixtures/format")
        let archive = try XCTUnwrap(FileManager.default.contentsOfDirectory(atPath: root + "/vectors/pgseal-1").first { $0.hasSuffix(".age") })
        let server = try PostgresServer.shared()
        let database = try server.emptyDatabase(label: "v1", for: self)
        let trust = ["--trusted-key", root + "/keys/allowed_signers", "-i", root + "/keys/age-identity.txt"]
        let restored = try PGSealCLI.run(["restore", root + "/vectors/pgseal-1/" + archive, "--db", server.url(database: database), "--create-tables"] + trust)
        XCTAssertEqual(restored.status, 0, restored.err)
        XCTAssertEqual(try server.psql("SELECT count(*) FROM encodings", database: database).trimmingCharacters(in: .whitespacesAndNewlines), "4")
        XCTAssertEqual(try server.psql("SELECT jb->'a'->>1 FROM encodings WHERE id = 1", database: database).trimmingCharacters(in: .whitespacesAndNewlines), "2",
                       "jsonb restored as jsonb")
        XCTAssertEqual(try server.psql("SELECT ai[2][1] FROM encodings WHERE id = 2", database: database).trimmingCharacters(in: .whitespacesAndNewlines), "3",
                       "a two-dimensional integer array restored as one")
        let diff = try PGSealCLI.run(["diff", root + "/vectors/pgseal-1/" + archive, "--db", server.url(database: database)] + trust)
        XCTAssertEqual(diff.status, 0, diff.out + diff.err)
        XCTAssertTrue(diff.out.contains("4 equal, 0 changed"), diff.out)
    }
}
