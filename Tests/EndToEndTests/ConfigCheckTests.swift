import Foundation
import TestSupport
import XCTest

final class ConfigCheckTests: XCTestCase {
    func testPrintsTheEffectiveSettingsWithSecretsMaskedAndRefusesABadFile() throws {
        let keys = try TemporaryDirectory()
        XCTAssertEqual(try PGSealCLI.run(["keygen", "--out", keys.path, "--signer", "nightly"]).status, 0)
        let good = keys.file("good.yaml")
        try """
            db: postgres://export:very-secret-pw@db.internal/kessan
            to: s3://backups/pgseal/
            recipients_file: \(keys.file("age-recipient.txt"))
            sign_key: \(keys.file("signing-key"))
            jobs: 2
            profile: billing
            profiles:
              - name: billing
                tables:
                  - table: invoices
                    columns: [id, amount]
                    key: [id]
            """.write(toFile: good, atomically: true, encoding: .utf8)
        let result = try PGSealCLI.run(["config", "check", "--config", good])
        XCTAssertEqual(result.status, 0, result.err)
        XCTAssertFalse(result.out.contains("very-secret-pw"), "a secret was printed: \(result.out)")
        for expected in ["export:***@db.internal", "profile      billing: public.invoices", "jobs         2", "age1", "(nightly)"] {
            XCTAssertTrue(result.out.contains(expected), "missing \(expected) in \(result.out)")
        }
        let bad = keys.file("bad.yaml")
        try """
            to: /tmp/x
            recipients_file: \(keys.file("age-recipient.txt"))
            sign_key: \(keys.file("signing-key"))
            profile: billing
            profiles:
              - name: billing
                tables:
                  - table: invoices
                    columns: [amount]
                    key: [id]
            """.write(toFile: bad, atomically: true, encoding: .utf8)
        let refused = try PGSealCLI.run(["config", "check", "--config", bad])
        XCTAssertEqual(refused.status, 2)
        XCTAssertTrue(refused.err.contains("key column id is not among the exported columns"), refused.err)
    }
}
