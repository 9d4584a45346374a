import Cryptography
import Foundation
import TestSupport
import XCTest

/// `allowed_signers` read as `ssh-keygen -Y verify` reads it: every case is decided by both,
/// side by side, and the verdicts must agree.
final class AllowedSignersTests: XCTestCase {
    var directory: TemporaryDirectory!
    var publicKey = ""
    var armored = ""
    let message = Array("{\"format\": \"pgseal-seal/1\"}\n".utf8)

    override func setUpWithError() throws {
        directory = try TemporaryDirectory()
        let made = try Command.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "ops", "-f", directory.file("ops")])
        XCTAssertEqual(made.status, 0, made.err)
        publicKey = try String(contentsOfFile: directory.file("ops.pub"), encoding: .utf8)
            .split(separator: " ").prefix(2).joined(separator: " ")
        FileManager.default.createFile(atPath: directory.file("seal"), contents: Data(message))
        let signed = try Command.run(["ssh-keygen", "-Y", "sign", "-f", directory.file("ops"), "-n", "pgseal", directory.file("seal")])
        XCTAssertEqual(signed.status, 0, signed.err)
        armored = try String(contentsOfFile: directory.file("seal.sig"), encoding: .utf8)
    }

    /// ssh-keygen's verdict and pgseal's for one allowed_signers text and principal.
    func verdicts(_ line: String, principal: String = "nightly", revoked: String? = nil) throws -> (sshKeygen: Bool, pgseal: Bool, reason: String) {
        let file = directory.file("allowed_signers")
        try (line + "\n").write(toFile: file, atomically: true, encoding: .utf8)
        var arguments = ["ssh-keygen", "-Y", "verify", "-f", file, "-I", principal, "-n", "pgseal", "-s", directory.file("seal.sig")]
        var revokedFiles: [String] = []
        if let revoked {
            try (revoked + "\n").write(toFile: directory.file("revoked"), atomically: true, encoding: .utf8)
            arguments += ["-r", directory.file("revoked")]
            revokedFiles = [directory.file("revoked")]
        }
        let peer = try Command.run(["bash", "-c", "\"$@\" < \"$0\"", directory.file("seal")] + arguments)
        var reason = ""
        var accepted = true
        do {
            let signers = try AllowedSigners.load(files: [file], revokedKeys: revokedFiles)
            try SSHSignature.verify(armored, message: message, namespace: "pgseal", signers: signers, principal: principal)
        } catch {
            accepted = false
            reason = "\(error)"
        }
        return (peer.status == 0, accepted, reason)
    }

    func testVerdictsAgreeWithSshKeygen() throws {
        let future = "29991231"
        let cases: [(String, String, Bool)] = [
            ("nightly \(publicKey)", "nightly", true),
            ("nightly namespaces=\"pgseal\" \(publicKey)", "nightly", true),
            ("nightly namespaces=\"git\" \(publicKey)", "nightly", false),
            ("nightly namespaces=\"git,pg*\" \(publicKey)", "nightly", true),
            ("nightly valid-before=\"20200101\" \(publicKey)", "nightly", false),
            ("nightly valid-after=\"\(future)\" \(publicKey)", "nightly", false),
            ("nightly valid-after=\"20200101\",valid-before=\"\(future)\" \(publicKey)", "nightly", true),
            ("nightly cert-authority \(publicKey)", "nightly", false),
            ("someone-else \(publicKey)", "nightly", false),
            ("night* \(publicKey)", "nightly", true),
            ("ops,nightly \(publicKey)", "nightly", true),
            ("*,!nightly \(publicKey)", "nightly", false),
            ("nightly bogus-option \(publicKey)", "nightly", false),
        ]
        for (line, principal, expected) in cases {
            let result = try verdicts(line, principal: principal)
            XCTAssertEqual(result.sshKeygen, expected, "ssh-keygen on: \(line)")
            XCTAssertEqual(result.pgseal, result.sshKeygen, "pgseal disagrees with ssh-keygen on: \(line) — \(result.reason)")
        }
    }

    func testRevokedKeysAreRefusedLikeSshKeygenDoes() throws {
        let result = try verdicts("nightly \(publicKey)", revoked: publicKey)
        XCTAssertFalse(result.sshKeygen)
        XCTAssertFalse(result.pgseal)
        XCTAssertTrue(result.reason.contains("revoked"), result.reason)
    }

    func testAKRLIsRefusedWithAMessage() throws {
        let krl = try Command.run(["ssh-keygen", "-k", "-f", directory.file("krl"), directory.file("ops.pub")])
        XCTAssertEqual(krl.status, 0, krl.err)
        XCTAssertThrowsError(try RevokedKeys.load(file: directory.file("krl"))) { error in
            XCTAssertTrue("\(error)".contains("KRL"), "\(error)")
        }
    }

    func testHostileLinesNeverTrap() throws {
        let lines = ["\"", "a \"", "a b=\"", "a namespaces=\"x\" ssh-ed25519", "a valid-before=\"99999999999\" \(publicKey)",
                     "a valid-before=\"20201340\" \(publicKey)", String(repeating: "*", count: 5000) + " " + publicKey,
                     "\u{1b}[2J \(publicKey)", "ssh-ed25519 !!!!"]
        for line in lines {
            var signers = AllowedSigners()
            XCTAssertNoThrow(try signers.add(text: line, origin: "t"))
        }
        XCTAssertFalse(PatternList.matches(String(repeating: "a", count: 3000) + "b", pattern: String(repeating: "*a", count: 200) + "c"))
    }
}
