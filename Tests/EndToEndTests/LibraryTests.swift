import Foundation
import TestSupport
import XCTest

/// PGSealKit as a library user meets it: Examples/VerifyNewest, built with the package, run.
final class LibraryTests: XCTestCase {
    func testTheExampleVerifiesTheNewestArchiveAndTellsBadFromUnavailable() throws {
        let example = ((Repository.pgsealBinary as NSString).deletingLastPathComponent as NSString).appendingPathComponent("pgseal-example-verify-newest")
        let work = try TemporaryDirectory()
        XCTAssertEqual(try PGSealCLI.run(["keygen", "--out", work.file("keys")]).status, 0)
        let exported = try PGSealCLI.run(["export", "--profile", "kessan-user-data", "--db", try ExportFixture.url(), "--to", work.file("store"),
                                          "-R", work.file("keys/age-recipient.txt"), "--sign-key", work.file("keys/signing-key")])
        XCTAssertEqual(exported.status, 0, exported.err)
        let archive = exported.out.trimmingCharacters(in: .newlines)
        let verified = try Command.run([example, work.file("store"), "kessan-user-data", work.file("keys/allowed_signers")])
        XCTAssertEqual(verified.status, 0, verified.err)
        XCTAssertEqual(verified.out, "verified: \(archive)\n")
        var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: archive)))
        bytes[bytes.count / 2] ^= 1
        try Data(bytes).write(to: URL(fileURLWithPath: archive))
        let bad = try Command.run([example, work.file("store"), "kessan-user-data", work.file("keys/allowed_signers")])
        XCTAssertEqual(bad.status, 1, bad.out + bad.err)
        XCTAssertTrue(bad.out.contains("SHA-256"), bad.out)
        let unavailable = try Command.run([example, work.file("no-such-store"), "kessan-user-data", work.file("keys/allowed_signers")])
        XCTAssertEqual(unavailable.status, 2, unavailable.out + unavailable.err)
    }
}
