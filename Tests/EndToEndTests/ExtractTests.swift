import ArchiveFormat
import Cryptography
import Foundation
import TestSupport
import XCTest

/// `pgseal extract`: archives of files back on disk — byte for byte, mode for mode, from a
/// directory and from S3 — and hostile ones refused with nothing written.
final class ExtractTests: XCTestCase {
    var sealing: SealedTrees!
    var work: TemporaryDirectory { sealing.work }

    override func setUpWithError() throws {
        sealing = try SealedTrees()
    }

    var trust: [String] { ["--trusted-key", work.file("keys/allowed_signers"), "-i", work.file("keys/age-identity.txt")] }

    func extract(_ archive: String, to directory: String, _ extra: [String] = [], environment: [String: String] = [:]) throws -> CommandResult {
        try PGSealCLI.run(["extract", archive, "--to", directory] + trust + extra, environment: environment)
    }

    /// `diff -r` and every entry's permissions and modification time, original against extracted.
    func assertSameTree(_ original: String, _ extracted: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let compared = try Command.run(["bash", "-c", """
            set -euo pipefail
            diff -r --no-dereference "$0" "$1"
            a=$(cd "$0" && find . -mindepth 1 -printf '%y %m %T@ %p -> %l\\n' | sed 's/\\.[0-9]* / /' | sort)
            b=$(cd "$1" && find . -mindepth 1 -printf '%y %m %T@ %p -> %l\\n' | sed 's/\\.[0-9]* / /' | sort)
            [ "$a" = "$b" ] || { diff <(echo "$a") <(echo "$b"); exit 1; }
            echo "$b" | wc -l
            """, original, extracted])
        XCTAssertEqual(compared.status, 0, compared.out + compared.err, file: file, line: line)
    }

    func testATreeRoundTripsFromADirectoryAndFromS3() throws {
        let tree = try sealing.makeTree()
        // Symbolic links keep their own time; make the tree's times whole seconds, as archived.
        _ = try Command.run(["bash", "-c", "find \"$0\" -exec touch -h -d @1700000000 {} +", tree])
        let sealed = try sealing.seal([tree], to: work.file("store"))
        XCTAssertEqual(sealed.status, 0, sealed.err)
        let archive = sealed.out.trimmingCharacters(in: .newlines)
        let result = try extract(archive, to: work.file("out"))
        XCTAssertEqual(result.status, 0, result.err)
        XCTAssertTrue(result.out.contains("extracted 7 files"), result.out)
        try assertSameTree(tree, work.file("out/tree"))
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: work.file("out")), ["tree"], "the staging directory was left behind")

        // Again into the same place: refused unless --overwrite, and nothing changed.
        try "changed".write(toFile: work.file("out/tree/run.sh"), atomically: false, encoding: .utf8)
        let again = try extract(archive, to: work.file("out"))
        XCTAssertEqual(again.status, 2, again.err)
        XCTAssertTrue(again.err.contains("already exist") && again.err.contains("--overwrite"), again.err)
        XCTAssertEqual(try String(contentsOfFile: work.file("out/tree/run.sh"), encoding: .utf8), "changed")
        let replaced = try extract(archive, to: work.file("out"), ["--overwrite"])
        XCTAssertEqual(replaced.status, 0, replaced.err)
        try assertSameTree(tree, work.file("out/tree"))

        // Selected paths only.
        let some = try extract(archive, to: work.file("some"), ["tree/sub"])
        XCTAssertEqual(some.status, 0, some.err)
        XCTAssertEqual(Set(ExportFixture.files(below: work.file("some"))), Set(["tree/sub/café ☕.txt", "tree/sub/-leading-dash", "tree/sub/link",
                                                                                 "tree/sub/new\nline", "tree/sub/quote\"and\\backslash"]))
        let none = try extract(archive, to: work.file("none"), ["tree/no-such"])
        XCTAssertEqual(none.status, 2, none.err)

        // From S3, the newest archive of the name.
        let s3 = try S3Server.shared()
        let bucket = try s3.makeBucket()
        let uploaded = try PGSealCLI.run(["seal", tree, "--to", "s3://\(bucket)/p/", "--name", "kessan-config", "-R", work.file("keys/age-recipient.txt"),
                                          "--sign-key", work.file("keys/signing-key")], environment: s3.environment())
        XCTAssertEqual(uploaded.status, 0, uploaded.err)
        let fromS3 = try extract("s3://\(bucket)/p/", to: work.file("s3"), ["--latest", "--profile", "kessan-config"], environment: s3.environment())
        XCTAssertEqual(fromS3.status, 0, fromS3.err)
        try assertSameTree(tree, work.file("s3/tree"))
    }

    func testAnArchiveSignedByAStrangerIsRefusedWithNothingWritten() throws {
        let tree = try sealing.makeTree()
        let sealed = try sealing.seal([tree], to: work.file("store"))
        let archive = sealed.out.trimmingCharacters(in: .newlines)
        XCTAssertEqual(try PGSealCLI.run(["keygen", "--out", work.file("stranger")]).status, 0)
        let refused = try PGSealCLI.run(["extract", archive, "--to", work.file("out"), "--trusted-key", work.file("stranger/allowed_signers"),
                                         "-i", work.file("keys/age-identity.txt")])
        XCTAssertEqual(refused.status, 1, refused.err)
        XCTAssertTrue(refused.err.contains("not a trusted signer"), refused.err)
        XCTAssertFalse(FileManager.default.fileExists(atPath: work.file("out")), "something was written")
    }

    /// Archives made by an insider with the signing key, each with one entry a naive tar -x
    /// would follow out of the target: refused before anything appears, the message naming it.
    func testHostileEntriesInASignedArchiveAreRefusedWithNothingWritten() throws {
        let cases: [(String, String)] = [
            ("[('f', 'files/../escape', b'x')]", "climbs out"),
            ("[('f', 'files//etc/cron.d/x', b'x')]", "climbs out"),
            ("[('l', 'files/link', '/etc'), ('f', 'files/link/passwd', b'x')]", "absolute path outside the target"),
            ("[('l', 'files/up', '../../outside'), ('f', 'files/ok', b'x')]", "points outside the target"),
            ("[('d', 'files/dir', None), ('l', 'files/dir/inner', '..'), ('f', 'files/dir/inner/x', b'x')]", "below the symbolic link"),
            ("[('c', 'files/null', None)]", "device, FIFO or hard link"),
            ("[('f', 'etc/passwd', b'x')]", "outside files/"),
            // Each link judged alone stays inside; read as the kernel reads them, t leaves.
            ("[('d', 'files/a', None), ('d', 'files/a/b', None), ('l', 'files/a/b/s', '../..'), ('l', 'files/a/b/t', 's/../victim')]",
             "passes through the link a/b/s"),
            ("[('l', 'files/t', 's/x'), ('d', 'files/d', None), ('l', 'files/s', 'd')]", "passes through the link s"),
            // Content other than the signed manifest lists: refused, nothing of it left.
            ("[('f', 'files/ok', b'x'), ('F', 'files/lied', b'the content the manifest does not list')]", "differs from the signed manifest"),
            // A tree deeper than any path: refused before it is walked.
            ("[('f', 'files/' + 'a/' * 3000 + 'x', b'x')]", "longer than 4096 bytes"),
        ]
        for (index, (entries, expected)) in cases.enumerated() {
            let archive = try hostileArchive(entries, label: "case\(index)")
            let out = work.file("out\(index)")
            let result = try PGSealCLI.run(["extract", archive, "--to", out] + trust)
            XCTAssertEqual(result.status, 1, "\(entries): \(result.err)")
            XCTAssertTrue(result.err.contains(expected), "\(entries): expected «\(expected)» in \(result.err)")
            XCTAssertEqual(ExportFixture.files(below: out), [], "\(entries): something was written")
            XCTAssertEqual((try? FileManager.default.contentsOfDirectory(atPath: out)) ?? [], [], "\(entries): something was left in the target")
            XCTAssertFalse(FileManager.default.fileExists(atPath: work.path + "/escape"), "an entry escaped")
        }
    }

    /// Something in the target where the archive puts a directory: refused before anything
    /// moves, naming what is in the way — a file, or a link (never written through).
    func testWhatIsInTheWayIsNamedAndNothingMoves() throws {
        let tree = try sealing.makeTree()
        let sealed = try sealing.seal([tree], to: work.file("store"))
        XCTAssertEqual(sealed.status, 0, sealed.err)
        let archive = sealed.out.trimmingCharacters(in: .newlines)
        let outside = work.file("outside")
        try FileManager.default.createDirectory(atPath: outside, withIntermediateDirectories: true)
        for (label, plant, found) in [("file", "mkdir -p \"$0/tree\" && echo in-the-way > \"$0/tree/sub\"", "a file"),
                                      ("link", "mkdir -p \"$0/tree\" && ln -s \"$1\" \"$0/tree/sub\"", "a symbolic link"),
                                      ("top", "mkdir -p \"$0\" && ln -s \"$1\" \"$0/tree\"", "a symbolic link")] {
            let out = work.file("in-the-way-\(label)")
            let planted = try Command.run(["bash", "-c", plant, out, outside])
            XCTAssertEqual(planted.status, 0, planted.err)
            let before = ExportFixture.files(below: out)
            let result = try extract(archive, to: out)
            XCTAssertEqual(result.status, 2, "\(label): \(result.err)")
            XCTAssertTrue(result.err.contains("is in the way: \(found) is there"), "\(label): \(result.err)")
            XCTAssertEqual(ExportFixture.files(below: out), before, "\(label): something moved into place")
            XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: outside), [], "\(label): written through the link")
        }
    }

    /// A second process replaces the directories extract creates by links to a directory
    /// outside, while it runs (thousands of files): nothing lands outside, the outside
    /// directory's mode is untouched, and extract either finishes or stops with exit 2.
    func testLinksPlantedWhileExtractRunsAreNeverFollowed() throws {
        let tree = work.file("many/tree")
        let made = try Command.run(["bash", "-c", """
            set -e
            for d in $(seq -w 1 150); do mkdir -p "$0/d$d/e"; for f in $(seq 1 12); do echo "$d $f" > "$0/d$d/f$f"; done; echo x > "$0/d$d/e/g"; done
            """, tree])
        XCTAssertEqual(made.status, 0, made.err)
        let sealed = try sealing.seal([tree], to: work.file("store"))
        XCTAssertEqual(sealed.status, 0, sealed.err)
        let archive = sealed.out.trimmingCharacters(in: .newlines)
        let outside = work.file("outside")
        try FileManager.default.createDirectory(atPath: outside, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o750])
        var swapped = 0
        var results: [Int32] = []
        for round in 0..<3 {
            let out = work.file("race\(round)")
            try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
            let stop = work.file("stop\(round)")
            let attacker = try Command.start(["python3", Repository.path("Tests/EndToEndTests/Attacker/swap_dirs.py"), out, outside, stop])
            Thread.sleep(forTimeInterval: 0.3)
            let result = try extract(archive, to: out)
            FileManager.default.createFile(atPath: stop, contents: nil)
            let attack = attacker.wait()
            swapped += Int(attack.out.trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0
            results.append(result.status)
            XCTAssertTrue([0, 2].contains(result.status), "round \(round): exit \(result.status): \(result.err)")
            XCTAssertFalse(result.err.contains("Fatal error"), result.err)
            XCTAssertEqual(ExportFixture.files(below: outside), [], "round \(round): files landed outside the target")
            let mode = try FileManager.default.attributesOfItem(atPath: outside)[.posixPermissions] as? Int
            XCTAssertEqual(mode, 0o750, "round \(round): the outside directory's mode changed")
        }
        XCTAssertGreaterThan(swapped, 0, "the attacker never got to replace a directory: the test proves nothing")
        print("planted links: \(swapped) directories replaced over 3 rounds; extract exited \(results)")
    }

    /// A tar of `entries` (kind, path, data or link target) with a manifest listing them as
    /// they are, zstd-compressed, encrypted with age and sealed with the signing key: everything
    /// about it verifies but its entries.
    func hostileArchive(_ entries: String, label: String) throws -> String {
        let directory = work.file("hostile/\(label)")
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let name = "kessan-config-20261124T020000Z.tar.zst.age"
        let script = """
            import hashlib, io, json, sys, tarfile
            entries = \(entries)
            out = io.BytesIO()
            files = []
            with tarfile.open(fileobj=out, mode="w", format=tarfile.PAX_FORMAT) as tar:
                for kind, path, value in entries:
                    info = tarfile.TarInfo(path); info.mtime = 1700000000; info.mode = 0o644
                    if kind in ('f', 'F'):
                        # 'F': the signed manifest lists other content than the tar holds.
                        listed = value if kind == 'f' else value[::-1] + b'!'
                        info.size = len(value); tar.addfile(info, io.BytesIO(value))
                        files.append({"path": path, "kind": "file", "mode": "0644", "size": len(listed), "sha256": hashlib.sha256(listed).hexdigest(), "mtime": 1700000000})
                    elif kind == 'd':
                        info.type = tarfile.DIRTYPE; info.mode = 0o755; tar.addfile(info)
                        files.append({"path": path, "kind": "directory", "mode": "0755", "size": 0, "mtime": 1700000000})
                    elif kind == 'l':
                        info.type = tarfile.SYMTYPE; info.linkname = value; info.mode = 0o777; tar.addfile(info)
                        files.append({"path": path, "kind": "symlink", "mode": "0777", "size": 0, "target": value, "mtime": 1700000000})
                    else:
                        info.type = tarfile.CHRTYPE; info.devmajor = 1; info.devminor = 3; tar.addfile(info)
                        files.append({"path": path, "kind": "other", "mode": "0644", "size": 0, "mtime": 1700000000})
                manifest = json.dumps({"format": "pgseal-files/1", "tool": {"name": "pgseal", "version": "test"}, "created_at": "2026-11-24T02:00:00Z",
                                       "name": "kessan-config", "files": files}).encode()
                info = tarfile.TarInfo("manifest.json"); info.size = len(manifest); tar.addfile(info, io.BytesIO(manifest))
            open(sys.argv[1] + "/tar", "wb").write(out.getvalue())
            open(sys.argv[1] + "/manifest.json", "wb").write(manifest)
            print(len(files))
            """
        let made = try Command.run(["bash", "-c", """
            set -euo pipefail
            n=$(python3 -c "$0" "$1")
            zstd -q -c "$1/tar" | age -R "$2" > "$1/$3"
            echo "$n"
            """, script, directory, work.file("keys/age-recipient.txt"), name])
        XCTAssertEqual(made.status, 0, made.err)
        let archive = directory + "/" + name
        let object = [UInt8](try Data(contentsOf: URL(fileURLWithPath: archive)))
        let manifest = [UInt8](try Data(contentsOf: URL(fileURLWithPath: directory + "/manifest.json")))
        let key = try SSHSigningKey.load(file: work.file("keys/signing-key"))
        var document = SealDocument(object: name, size: Int64(object.count), sha256: SHA256Hasher.hash(object).hex, manifestSHA256: SHA256Hasher.hash(manifest).hex,
                                    createdAt: "2026-11-24T02:00:00Z", profile: "kessan-config", encryption: "age-x25519", recipients: [],
                                    compression: "zstd", snapshot: "", walLSN: "", tables: [], signer: key.publicKey.fingerprint, tool: "test")
        document.contents = "files"
        document.files = Int(made.out.trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0
        let bytes = try document.encoded()
        FileManager.default.createFile(atPath: archive + ".seal", contents: Data(bytes))
        try SSHSignature.sign(bytes, namespace: "pgseal", key: key).write(toFile: archive + ".seal.sig", atomically: true, encoding: .utf8)
        return archive
    }
}
