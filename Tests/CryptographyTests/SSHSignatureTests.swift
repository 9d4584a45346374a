import Cryptography
import Foundation
import TestSupport
import XCTest

/// Seals' signatures against the real ssh-keygen, both directions, and keygen's files.
final class SSHSignatureTests: XCTestCase {
    var directory: TemporaryDirectory!

    override func setUpWithError() throws {
        directory = try TemporaryDirectory()
    }

    func testSshKeygenVerifiesWhatPgsealSigns() throws {
        let made = try PGSealCLI.run(["keygen", "--out", directory.file("keys"), "--signer", "nightly"])
        XCTAssertEqual(made.status, 0, made.err)
        let key = try SSHSigningKey.load(file: directory.file("keys/signing-key"))
        let message = Array("{\"sealed\": true}\n".utf8)
        let signature = try SSHSignature.sign(message, namespace: "pgseal", key: key)
        try signature.write(toFile: directory.file("m.sig"), atomically: true, encoding: .utf8)
        FileManager.default.createFile(atPath: directory.file("m"), contents: Data(message))
        let verify = try Command.run(["bash", "-c", "ssh-keygen -Y verify -f \"$0/keys/allowed_signers\" -I nightly -n pgseal -s \"$0/m.sig\" < \"$0/m\"", directory.path])
        XCTAssertEqual(verify.status, 0, verify.out + verify.err)
        XCTAssertTrue(verify.out.contains("Good \"pgseal\" signature for nightly"), verify.out)
        // ssh-keygen refuses it under another namespace, and for other bytes.
        let otherNamespace = try Command.run(["bash", "-c", "ssh-keygen -Y verify -f \"$0/keys/allowed_signers\" -I nightly -n file -s \"$0/m.sig\" < \"$0/m\"", directory.path])
        XCTAssertNotEqual(otherNamespace.status, 0)
        let otherBytes = try Command.run(["bash", "-c", "echo x | ssh-keygen -Y verify -f \"$0/keys/allowed_signers\" -I nightly -n pgseal -s \"$0/m.sig\"", directory.path])
        XCTAssertNotEqual(otherBytes.status, 0)
        // ssh-keygen agrees on the key and its fingerprint.
        let fingerprint = try Command.run(["ssh-keygen", "-l", "-f", directory.file("keys/signing-key")])
        XCTAssertTrue(fingerprint.out.contains(key.publicKey.fingerprint), fingerprint.out)
    }

    func testPgsealVerifiesWhatSshKeygenSigns() throws {
        let made = try Command.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "ops", "-f", directory.file("ops")])
        XCTAssertEqual(made.status, 0, made.err)
        let message = Array("seal bytes\n".utf8)
        FileManager.default.createFile(atPath: directory.file("seal"), contents: Data(message))
        let signed = try Command.run(["ssh-keygen", "-Y", "sign", "-f", directory.file("ops"), "-n", "pgseal", directory.file("seal")])
        XCTAssertEqual(signed.status, 0, signed.err)
        let armored = try String(contentsOfFile: directory.file("seal.sig"), encoding: .utf8)
        let trusted = try AllowedSigners.load(file: directory.file("ops.pub"))
        XCTAssertEqual(try SSHSignature.verify(armored, message: message, namespace: "pgseal", signers: trusted).key, trusted.entries[0].key)
        // pgseal loads the key ssh-keygen wrote, and signs the same way.
        let key = try SSHSigningKey.load(file: directory.file("ops"))
        XCTAssertEqual(key.publicKey, trusted.entries[0].key)

        XCTAssertThrowsError(try SSHSignature.verify(armored, message: message + [0], namespace: "pgseal", signers: trusted)) { error in
            XCTAssertTrue("\(error)".contains("does not match the signed file"), "\(error)")
        }
        XCTAssertThrowsError(try SSHSignature.verify(armored, message: message, namespace: "other", signers: trusted)) { error in
            XCTAssertTrue("\(error)".contains("namespace"), "\(error)")
        }
        _ = try PGSealCLI.run(["keygen", "--out", directory.file("stranger")])
        let stranger = try AllowedSigners.load(file: directory.file("stranger/allowed_signers"))
        XCTAssertThrowsError(try SSHSignature.verify(armored, message: message, namespace: "pgseal", signers: stranger)) { error in
            XCTAssertTrue("\(error)".contains("not a trusted signer"), "\(error)")
        }
    }

    func testPassphraseProtectedSigningKeysAreRefusedWithAReason() throws {
        _ = try Command.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "secret", "-f", directory.file("locked")])
        XCTAssertThrowsError(try SSHSigningKey.load(file: directory.file("locked"))) { error in
            XCTAssertTrue("\(error)".contains("passphrase-protected"), "\(error)")
        }
    }

    func testKeygenWritesSecretsPrivatelyAndNeverOverwrites() throws {
        let out = directory.file("k")
        XCTAssertEqual(try PGSealCLI.run(["keygen", "--out", out]).status, 0)
        func mode(_ name: String) throws -> Int {
            (try FileManager.default.attributesOfItem(atPath: out + "/" + name)[.posixPermissions] as? Int) ?? -1
        }
        XCTAssertEqual(try mode("age-identity.txt"), 0o600)
        XCTAssertEqual(try mode("signing-key"), 0o600)
        XCTAssertEqual(try mode("age-recipient.txt"), 0o644)
        XCTAssertEqual(try mode("allowed_signers"), 0o644)
        let before = try String(contentsOfFile: out + "/age-identity.txt", encoding: .utf8)
        let again = try PGSealCLI.run(["keygen", "--out", out])
        XCTAssertEqual(again.status, 2)
        XCTAssertTrue(again.err.contains("already exists"), again.err)
        XCTAssertEqual(try String(contentsOfFile: out + "/age-identity.txt", encoding: .utf8), before)
        // The identity is in age's own format: age-keygen -y derives the same recipient.
        let derived = try Command.run(["age-keygen", "-y", out + "/age-identity.txt"])
        XCTAssertEqual(derived.out, try String(contentsOfFile: out + "/age-recipient.txt", encoding: .utf8))
    }
}
