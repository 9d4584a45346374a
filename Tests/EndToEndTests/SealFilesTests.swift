import Foundation
import TestSupport
import XCTest

/// `pgseal seal`: directory trees with odd names and permissions into the archive format, read
/// back with the standard tools, and handled by verify, list, check, prune and replicate.
/// Keys in a temporary directory, a tree with the names and modes that break naive tools, and
/// `pgseal seal` of it: shared by the tests of seal and extract.
struct SealedTrees {
    let work: TemporaryDirectory

    init() throws {
        work = try TemporaryDirectory()
        let made = try PGSealCLI.run(["keygen", "--out", work.file("keys")])
        guard made.status == 0 else { throw TestSetupError("keygen failed: \(made.err)") }
    }

    func seal(_ paths: [String], to store: String, name: String = "kessan-config") throws -> CommandResult {
        try PGSealCLI.run(["seal"] + paths + ["--to", store, "--name", name, "--recipients-file", work.file("keys/age-recipient.txt"),
                                            "--sign-key", work.file("keys/signing-key")])
    }

    /// A tree with the names and modes that break naive tools.
    func makeTree() throws -> String {
        let script = """
            set -e; cd "$0"; mkdir -p tree/sub tree/empty "tree/dir with space"
            printf 'DATABASE_PASSWORD=s3cret\\n' > "tree/app config.env"; chmod 600 "tree/app config.env"
            printf 'x' > "$(printf 'tree/sub/new\\nline')"
            printf 'é' > "tree/sub/café ☕.txt"
            printf 'dash' > tree/sub/-leading-dash
            printf 'q' > "tree/sub/quote\\"and\\\\backslash"
            python3 -c 'import random, sys; sys.stdout.buffer.write(random.Random(7).randbytes(3000000))' > "tree/dir with space/blob.bin"
            ln -s "../app config.env" tree/sub/link
            chmod 750 tree/empty; printf '#!/bin/sh\\n' > tree/run.sh; chmod 755 tree/run.sh
            """
        let result = try Command.run(["bash", "-c", script, work.path])
        guard result.status == 0 else { throw TestSetupError("making the tree failed: \(result.err)") }
        return work.file("tree")
    }
}

final class SealFilesTests: XCTestCase {
    var trees: SealedTrees!
    var work: TemporaryDirectory { trees.work }

    override func setUpWithError() throws {
        trees = try SealedTrees()
    }

    func seal(_ paths: [String], to store: String, name: String = "kessan-config") throws -> CommandResult {
        try trees.seal(paths, to: store, name: name)
    }

    func makeTree() throws -> String { try trees.makeTree() }

    func testATreeWithOddNamesAndModesRoundTripsThroughStandardTools() throws {
        let tree = try makeTree()
        let store = work.file("store")
        let result = try seal([tree], to: store)
        XCTAssertEqual(result.status, 0, result.err)
        let archive = result.out.trimmingCharacters(in: .newlines)
        XCTAssertTrue(archive.hasPrefix(store + "/kessan-config/") && archive.hasSuffix(".tar.zst.age"), archive)
        let raw = try Data(contentsOf: URL(fileURLWithPath: archive))
        XCTAssertNil(raw.range(of: Data("s3cret".utf8)), "a secret in clear in the archive")

        let verify = try PGSealCLI.run(["verify", archive, "--trusted-key", work.file("keys/allowed_signers"), "-i", work.file("keys/age-identity.txt")])
        XCTAssertEqual(verify.status, 0, verify.out + verify.err)
        XCTAssertTrue(verify.out.contains("verified at level deep"), verify.out + verify.err)

        let check = try Command.run(["bash", "-c", """
            set -euo pipefail; mkdir "$2/x"
            ssh-keygen -Y verify -f "$1/allowed_signers" -I pgseal -n pgseal -s "$0.seal.sig" < "$0.seal"
            age -d -i "$1/age-identity.txt" "$0" | zstd -d | tar -x -C "$2/x"
            diff -r --no-dereference "$2/tree" "$2/x/files/tree"
            stat -c '%a %n' "$2/x/files/tree/app config.env" "$2/x/files/tree/empty" "$2/x/files/tree/run.sh"
            python3 "$3" "$2/x" >&2
            readlink "$2/x/files/tree/sub/link"
            """, archive, work.file("keys"), work.path, Repository.path("scripts/recompute_digests.py")])
        XCTAssertEqual(check.status, 0, check.out + check.err)
        XCTAssertTrue(check.out.contains("600 \(work.path)/x/files/tree/app config.env"), check.out)
        XCTAssertTrue(check.out.contains("750 \(work.path)/x/files/tree/empty"), check.out)
        XCTAssertTrue(check.out.contains("755 \(work.path)/x/files/tree/run.sh"), check.out)
        XCTAssertTrue(check.out.hasSuffix("../app config.env\n"), check.out)

        let restore = try PGSealCLI.run(["verify", archive, "--trusted-key", work.file("keys/allowed_signers"), "-i", work.file("keys/age-identity.txt"),
                                         "--level", "restore", "--scratch-db", try PostgresServer.shared().url(database: "postgres")])
        XCTAssertEqual(restore.status, 2)
        XCTAssertTrue(restore.err.contains("archive of files"), restore.err)

        // A changed byte is found at the seal level, without the key.
        var bytes = [UInt8](raw)
        bytes[bytes.count / 2] ^= 0x01
        try Data(bytes).write(to: URL(fileURLWithPath: archive))
        let tampered = try PGSealCLI.run(["verify", archive, "--trusted-key", work.file("keys/allowed_signers")])
        XCTAssertEqual(tampered.status, 1, tampered.err)
    }

    func testListCheckPruneAndReplicateHandleArchivesOfFiles() throws {
        let tree = try makeTree()
        let store = work.file("store")
        XCTAssertEqual(try seal([tree, work.file("keys/allowed_signers")], to: store).status, 0)
        Thread.sleep(forTimeInterval: 1.1)
        let newest = try seal([tree], to: store)
        XCTAssertEqual(newest.status, 0, newest.err)
        let listed = try PGSealCLI.run(["list", store, "--profile", "kessan-config", "--trusted-key", work.file("keys/allowed_signers")])
        XCTAssertEqual(listed.out.components(separatedBy: " files  ").count - 1, 2, listed.out)
        let check = try PGSealCLI.run(["check", store, "--max-age", "1h", "--profile", "kessan-config", "--level", "deep",
                                       "--trusted-key", work.file("keys/allowed_signers"), "-i", work.file("keys/age-identity.txt")])
        XCTAssertEqual(check.status, 0, check.out + check.err)
        let prune = try PGSealCLI.run(["prune", store, "--keep-days", "0", "--trusted-key", work.file("keys/allowed_signers")])
        XCTAssertEqual(prune.status, 0, prune.err)
        XCTAssertTrue(prune.out.contains("1 archive deleted, 1 kept"), prune.out + prune.err)
        let copy = try PGSealCLI.run(["replicate", newest.out.trimmingCharacters(in: .newlines), "--to", work.file("dr"),
                                      "--trusted-key", work.file("keys/allowed_signers")])
        XCTAssertEqual(copy.status, 0, copy.err)
        let verify = try PGSealCLI.run(["verify", copy.out.trimmingCharacters(in: .newlines), "--trusted-key", work.file("keys/allowed_signers"),
                                        "-i", work.file("keys/age-identity.txt")])
        XCTAssertEqual(verify.status, 0, verify.err)
    }

    func testWhatCannotBeSealedIsRefusedAndNothingIsPublished() throws {
        let tree = try makeTree()
        XCTAssertEqual(try Command.run(["mkfifo", work.file("tree/sub/a-pipe")]).status, 0)
        let store = work.file("store")
        let result = try seal([tree], to: store)
        XCTAssertEqual(result.status, 2)
        XCTAssertTrue(result.err.contains("a-pipe") && result.err.contains("cannot be sealed"), result.err)
        ExportFixture.assertNothingLeft(in: store)
        let missing = try seal([work.file("no-such-dir")], to: store)
        XCTAssertEqual(missing.status, 2)
        XCTAssertTrue(missing.err.contains("no-such-dir") && missing.err.contains("No such file"), missing.err)
        let badName = try seal([tree], to: store, name: "../escape")
        XCTAssertEqual(badName.status, 2)
        XCTAssertTrue(badName.err.contains("--name"), badName.err)
    }
}
