import Foundation
import Postgres
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
            keep_days: 35
            keep_last: 7
            max_age: 26h
            trusted_keys: [\(keys.file("allowed_signers"))]
            alert_webhook: https://hooks.example.com/services/T000/B000/webhook-secret-token
            alert_sns_topic: arn:aws:sns:eu-west-1:123456789012:pgseal-alerts
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
        XCTAssertFalse(result.out.contains("webhook-secret-token"), "a secret was printed: \(result.out)")
        for expected in ["user=export dbname=kessan host=db.internal", "profile      billing: public.invoices", "jobs         2", "age1", "(nightly)",
                         "retention    35 days, the newest 7 kept", "max age 26h", "webhook ****", "SNS arn:aws:sns:eu-west-1:123456789012:pgseal-alerts"] {
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

/// Every conninfo form libpq takes shows its target without its password.
final class ConnectionMaskingTests: XCTestCase {
    func testNoFormOfPasswordIsShown() {
        let forms = [
            "postgresql://ops:s3cret@db.internal:5433/kessan",
            "postgresql://ops@db.internal/kessan?password=s3cret&sslmode=require",
            "host=db.internal user=ops password='s3cret with spaces' dbname=kessan",
            "host=db.internal password=first password=s3cret dbname=kessan",
            "host=db.internal   password =  s3cret dbname=kessan",
            "host=db.internal dbname=kessan password='it\\'s s3cret'",
        ]
        for form in forms {
            let shown = PostgresConnection.describeTarget(form)
            XCTAssertFalse(shown.contains("s3cret") || shown.contains("first"), "\(form) → \(shown)")
            XCTAssertTrue(shown.contains("db.internal"), "\(form) → \(shown)")
        }
        // What libpq cannot parse is not echoed at all.
        XCTAssertFalse(PostgresConnection.describeTarget("host=x PASSWORD=s3cret").contains("s3cret"))
        XCTAssertFalse(PostgresConnection.describeTarget("password='unterminated s3cret").contains("s3cret"))
    }
}
