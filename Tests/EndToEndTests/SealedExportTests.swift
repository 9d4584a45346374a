import Foundation
import TestSupport
import XCTest

/// Encrypted, signed exports, opened and checked with age, ssh-keygen, sha256sum, zstd and tar.
final class SealedExportTests: XCTestCase {
    var keys: TemporaryDirectory!

    override func setUpWithError() throws {
        keys = try TemporaryDirectory()
        let made = try PGSealCLI.run(["keygen", "--out", keys.path, "--signer", "nightly"])
        XCTAssertEqual(made.status, 0, made.err)
    }

    func sealedExport(into store: TemporaryDirectory, _ extra: [String] = []) throws -> String {
        let result = try PGSealCLI.run(["export", "--profile", "kessan-user-data", "--db", try ExportFixture.url(), "--to", store.path,
                                        "--recipients-file", keys.file("age-recipient.txt"), "--sign-key", keys.file("signing-key")] + extra)
        XCTAssertEqual(result.status, 0, result.err)
        return result.out.trimmingCharacters(in: .newlines)
    }

    func testStandardToolsCheckEverySealedLayer() throws {
        let store = try TemporaryDirectory()
        let archive = try sealedExport(into: store)
        XCTAssertTrue(archive.hasSuffix(".tar.zst.age"), archive)
        let name = (archive as NSString).lastPathComponent
        let directory = (archive as NSString).deletingLastPathComponent
        let script = """
            set -euo pipefail
            cd "$1"
            sha256sum -c "$2.sha256"
            ssh-keygen -Y verify -f "$3/allowed_signers" -I nightly -n pgseal -s "$2.seal.sig" < "$2.seal"
            mkdir x && age -d -i "$3/age-identity.txt" "$2" | zstd -d | tar -x -C x
            "$4" x
            sha256sum x/manifest.json
            """
        let result = try Command.run(["bash", "-c", script, "check", directory, name, keys.path, Repository.path("scripts/recompute_digests.py")])
        XCTAssertEqual(result.status, 0, result.out + result.err)
        XCTAssertTrue(result.out.contains("Good \"pgseal\" signature for nightly"), result.out)

        // The seal agrees with the object, its .sha256 and the manifest inside.
        let seal = try JSONDocument(file: archive + ".seal")
        let sidecar = try String(contentsOfFile: archive + ".sha256", encoding: .utf8)
        XCTAssertEqual(try seal["sha256"].string(), String(sidecar.prefix(64)))
        XCTAssertEqual(try seal["size"].int(), try fileSize(archive))
        XCTAssertTrue(result.out.contains(try seal["manifest_sha256"].string()), "manifest_sha256 differs from the manifest's SHA-256")
        XCTAssertEqual(try seal["encryption"].string(), "age-x25519")
        let manifest = try JSONDocument(file: directory + "/x/manifest.json")
        let manifestTables = try manifest["tables"].array().map {
            "\(try $0["schema"].string()).\(try $0["name"].string()) \(try $0["rows"].int()) \(try $0["digest"].string())"
        }
        let sealTables = try seal["tables"].array().map { "\(try $0["name"].string()) \(try $0["rows"].int()) \(try $0["digest"].string())" }
        XCTAssertEqual(sealTables, manifestTables)

        // Nothing readable in the object: a known email address of the fixture does not appear.
        let object = try Data(contentsOf: URL(fileURLWithPath: archive))
        XCTAssertNil(object.range(of: Data("user1@example.com".utf8)))
        XCTAssertTrue(object.starts(with: Data("age-encryption.org/v1\n".utf8)))
    }

    func testInspectShowsTheSealWithoutAKeyAndTheManifestWithOne() throws {
        let store = try TemporaryDirectory()
        let archive = try sealedExport(into: store)
        let sealOnly = try PGSealCLI.run(["inspect", archive, "--trusted-key", keys.file("allowed_signers")])
        XCTAssertEqual(sealOnly.status, 0, sealOnly.err)
        XCTAssertTrue(sealOnly.out.contains("encryption  age-x25519") && sealOnly.out.contains("table public.users:"), sealOnly.out)
        let withKey = try PGSealCLI.run(["inspect", "-i", keys.file("age-identity.txt"), archive, "--trusted-key", keys.file("allowed_signers")])
        XCTAssertEqual(withKey.status, 0, withKey.err)
        XCTAssertTrue(withKey.out.contains("profile   kessan-user-data") && withKey.out.contains("filter   is_active"), withKey.out)
        let decrypted = try PGSealCLI.run(["decrypt", "-i", keys.file("age-identity.txt"), archive])
        XCTAssertEqual(decrypted.status, 0)
        let viaAge = try Command.run(["age", "-d", "-i", keys.file("age-identity.txt"), archive])
        XCTAssertEqual(decrypted.stdout, viaAge.stdout)
    }

    func testEncryptionAndSigningAreExplicitChoices() throws {
        let store = try TemporaryDirectory()
        let base = ["export", "--profile", "kessan-user-data", "--db", try ExportFixture.url(), "--to", store.path]
        let noRecipients = try PGSealCLI.run(base + ["--sign-key", keys.file("signing-key")])
        XCTAssertEqual(noRecipients.status, 2)
        XCTAssertTrue(noRecipients.err.contains("no recipients") && noRecipients.err.contains("--no-encrypt"), noRecipients.err)
        let noSigner = try PGSealCLI.run(base + ["--recipients-file", keys.file("age-recipient.txt")])
        XCTAssertEqual(noSigner.status, 2)
        XCTAssertTrue(noSigner.err.contains("no signing key"), noSigner.err)
        let both = try PGSealCLI.run(base + ["--no-encrypt", "--recipient", "age1zvkyg2lqzraa2lnjvqej32nkuu0ues2s82hzrye869xeexvn73equnujwj", "--no-sign"])
        XCTAssertEqual(both.status, 2)
        let bad = try PGSealCLI.run(base + ["--recipient", "age1notakey", "--no-sign"])
        XCTAssertEqual(bad.status, 2)
        XCTAssertTrue(bad.err.contains("is not an age X25519 recipient"), bad.err)
        XCTAssertEqual(ExportFixture.files(below: store.path), [])
    }

    func testRecipientsFromTheEnvironmentAndAWarningForReadableKeys() throws {
        let store = try TemporaryDirectory()
        chmod(keys.file("signing-key"), 0o644)
        let recipient = try String(contentsOfFile: keys.file("age-recipient.txt"), encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        let result = try PGSealCLI.run(["export", "--profile", "kessan-user-data", "--db", try ExportFixture.url(), "--to", store.path],
                                       environment: ["PGSEAL_RECIPIENTS": recipient, "PGSEAL_SIGN_KEY": keys.file("signing-key")])
        XCTAssertEqual(result.status, 0, result.err)
        XCTAssertTrue(result.err.contains("readable by other users"), result.err)
        XCTAssertTrue(result.out.hasSuffix(".tar.zst.age\n"), result.out)
        XCTAssertFalse(result.err.contains("PRIVATE KEY") || result.err.contains("AGE-SECRET-KEY"), "a secret reached the log")
    }
}
