import Cryptography
import Foundation
import TestSupport
import XCTest

/// What an attacker with write access to the bucket — or an insider with the signing key —
/// does to an archive, for the tests that prove pgseal refuses to believe it.
enum Tampering {
    /// New keys in `keys` and a signed, unencrypted export of the fixture's built-in profile
    /// into `store`: the genuine archive that the attacks start from.
    static func signedExport(keys: TemporaryDirectory, store: TemporaryDirectory) throws -> String {
        XCTAssertEqual(try PGSealCLI.run(["keygen", "--out", keys.path]).status, 0)
        let result = try PGSealCLI.run(["export", "--profile", "kessan-user-data", "--db", try ExportFixture.url(), "--to", store.path, "--no-encrypt",
                                        "--sign-key", keys.file("signing-key"), "--progress", "never"])
        XCTAssertEqual(result.status, 0, result.err)
        return result.out.trimmingCharacters(in: .newlines)
    }

    /// A copy of `archive` and its sidecars in a new directory `label` under `store`.
    static func copy(_ archive: String, to directory: String) throws -> String {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let copy = directory + "/" + (archive as NSString).lastPathComponent
        for suffix in ["", ".sha256", ".seal", ".seal.sig"] where FileManager.default.fileExists(atPath: archive + suffix) {
            try FileManager.default.copyItem(atPath: archive + suffix, toPath: copy + suffix)
        }
        return copy
    }

    /// Flips one byte of a file in place, at `offset` (or its last byte when shorter).
    static func flipByte(in path: String, at offset: Int) throws {
        var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        guard !bytes.isEmpty else { throw TestSetupError("\(path) is empty") }
        let at = min(offset, bytes.count - 1)
        bytes[at] ^= 0x01
        try Data(bytes).write(to: URL(fileURLWithPath: path))
    }

    /// Unpacks an unencrypted `.tar.zst` archive into `work`, runs `edit` (bash, in `work`),
    /// and packs it again in the format's entry order, under the same name.
    static func rebuildUnencrypted(_ archive: String, work: String, edit: String) throws {
        let script = """
            set -euo pipefail
            mkdir -p "$1" && cd "$1"
            zstd -dc "$2" | tar -x
            \(edit)
            entries=$(find data -type f | sort)
            tar --format=pax -c tables.json $entries manifest.json | zstd -q -3 > "$2.new"
            mv "$2.new" "$2"
            """
        let result = try Command.run(["bash", "-c", script, "rebuild", work, archive])
        XCTAssertEqual(result.status, 0, result.err)
    }

    /// Seals `archive` again as an insider with the signing key would: its new size and
    /// SHA-256, the definitions and (when asked) the manifest in `work` as they now are.
    static func reseal(_ archive: String, work: String, keys: String, manifest: Bool = false, tables: Bool = true) throws {
        guard var seal = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: archive + ".seal"))) as? [String: Any] else {
            throw TestSetupError("\(archive).seal is not a JSON object")
        }
        let object = [UInt8](try Data(contentsOf: URL(fileURLWithPath: archive)))
        seal["size"] = object.count
        seal["sha256"] = SHA256Hasher.hash(object).hex
        if tables { seal["tables_sha256"] = SHA256Hasher.hash([UInt8](try Data(contentsOf: URL(fileURLWithPath: work + "/tables.json")))).hex }
        if manifest {
            seal["manifest_sha256"] = SHA256Hasher.hash([UInt8](try Data(contentsOf: URL(fileURLWithPath: work + "/manifest.json")))).hex
        }
        let sealBytes = [UInt8](try JSONSerialization.data(withJSONObject: seal, options: [.prettyPrinted, .sortedKeys]))
        FileManager.default.createFile(atPath: archive + ".seal", contents: Data(sealBytes))
        let signature = try SSHSignature.sign(sealBytes, namespace: "pgseal", key: try SSHSigningKey.load(file: keys + "/signing-key"))
        try signature.write(toFile: archive + ".seal.sig", atomically: true, encoding: .utf8)
    }

    /// Replaces `archive`'s object with a zstd tar whose first chunk entry is `body` bytes made
    /// by Python expression `generator` (a bytes object repeated), keeping the seal: a bomb.
    static func bomb(_ archive: String, entry: String, pattern: String, repeats: Int) throws {
        let script = """
            import sys, tarfile, io
            class Repeat(io.RawIOBase):
                def __init__(self, piece, times): self.piece, self.left, self.buf = piece, times, b""
                def readable(self): return True
                def readinto(self, b):
                    while len(self.buf) < len(b) and self.left > 0:
                        self.buf += self.piece; self.left -= 1
                    n = min(len(b), len(self.buf)); b[:n] = self.buf[:n]; self.buf = self.buf[n:]; return n
            piece = \(pattern)
            out = tarfile.open(fileobj=sys.stdout.buffer, mode="w|", format=tarfile.PAX_FORMAT)
            info = tarfile.TarInfo("tables.json"); defs = open(sys.argv[2], "rb").read(); info.size = len(defs)
            out.addfile(info, io.BytesIO(defs))
            info = tarfile.TarInfo(sys.argv[1]); info.size = len(piece) * \(repeats)
            out.addfile(info, io.BufferedReader(Repeat(piece, \(repeats)), 1 << 20))
            out.close()
            """
        let work = archive + ".bomb"
        try FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: true)
        let extract = try Command.run(["bash", "-c", "cd \"$1\" && zstd -dc \"$2\" | tar -x tables.json", "x", work, archive])
        XCTAssertEqual(extract.status, 0, extract.err)
        let made = try Command.run(["bash", "-c", "set -o pipefail; python3 -c \"$1\" \"$2\" \"$3\" | zstd -q -3 > \"$4\"",
                                    "bomb", script, entry, work + "/tables.json", archive])
        XCTAssertEqual(made.status, 0, made.err)
    }
}
