import Foundation
import TestSupport
import XCTest

/// One grammar for every command (docs/CLI.md, "Grammar"): the same names for the same things,
/// one error format with the command's own usage, and `--latest` wherever an archive is read.
final class CLIGrammarTests: XCTestCase {
    /// Every command and subcommand, as `pgseal --help` and `pgseal config --help` list them.
    func commands() throws -> [[String]] {
        func listed(_ arguments: [String]) throws -> [String] {
            let help = try PGSealCLI.run(arguments + ["--help"])
            XCTAssertEqual(help.status, 0, help.err)
            guard let section = help.out.components(separatedBy: "SUBCOMMANDS:").last else { return [] }
            return section.split(separator: "\n").compactMap { line in
                let words = line.split(separator: " ")
                // An entry is indented by two spaces; its wrapped description by many more.
                guard line.hasPrefix("  "), !line.hasPrefix("   "), let first = words.first,
                      first.allSatisfy({ $0.isLowercase || $0 == "-" }) else { return nil }
                return String(first)
            }.filter { $0 != "help" }
        }
        let top = try listed([])
        XCTAssertGreaterThanOrEqual(top.count, 14, "pgseal --help lists too few commands: \(top)")
        return top.filter { $0 != "config" }.map { [$0] } + (try listed(["config"])).map { ["config", $0] }
    }

    func testEveryCommandSpellsTheSharedOptionsTheSameWay() throws {
        let readers: Set = ["verify", "restore", "diff", "inspect", "replicate", "extract", "recover"]
        let identities: Set = ["verify", "restore", "diff", "inspect", "check", "decrypt", "extract", "recover"]
        let recipients: Set = ["export", "seal", "encrypt"]
        let trusting: Set = ["verify", "restore", "diff", "inspect", "replicate", "list", "check", "prune", "extract", "recover", "chain", "report"]
        let reporting: Set = ["export", "seal", "verify", "diff", "restore", "inspect", "list", "check", "prune", "replicate", "extract", "recover", "chain", "report"]
        for command in try commands() {
            let help = try PGSealCLI.run(command + ["--help"])
            let name = command.joined(separator: " ")
            XCTAssertEqual(help.status, 0, "\(name): \(help.err)")
            let text = help.out
            for shared in ["-q, --quiet", "-v, --verbose", "--log-format <format>"] {
                XCTAssertTrue(text.contains(shared), "pgseal \(name) --help lacks \(shared)")
            }
            if readers.contains(name) {
                for option in ["--latest", "--profile <profile>", "<archive>"] { XCTAssertTrue(text.contains(option), "pgseal \(name) lacks \(option)") }
            }
            if identities.contains(name) { XCTAssertTrue(text.contains("-i, --identity <file>"), "pgseal \(name) lacks -i, --identity <file>") }
            if recipients.contains(name) {
                XCTAssertTrue(text.contains("-r, --recipient"), "pgseal \(name) lacks -r, --recipient")
                XCTAssertTrue(text.contains("-R, --recipients-file <file>"), "pgseal \(name) lacks -R, --recipients-file <file>")
            }
            if reporting.contains(name) { XCTAssertTrue(text.contains("--json"), "pgseal \(name) lacks --json") }
            if trusting.contains(name) { XCTAssertTrue(text.contains("--trusted-key <file>"), "pgseal \(name) lacks --trusted-key <file>") }
            // No option is spelled in two ways across commands: a flag of one name takes one value name.
            // Option definitions are indented by two spaces; examples in the discussion by more.
            let definitions = text.split(separator: "\n").filter { $0.hasPrefix("  -") }.map { $0.trimmingCharacters(in: .whitespaces) }
            for line in definitions where line.hasPrefix("-i, --identity") || line.hasPrefix("--trusted-key") {
                XCTAssertTrue(line.contains("<file>"), "pgseal \(name): \(line)")
            }
        }
    }

    /// Whether the parser or the command finds the mistake, it reads the same.
    func testUsageErrorsHaveOneFormatWithTheCommandsOwnUsage() throws {
        let store = try TemporaryDirectory()
        XCTAssertEqual(try PGSealCLI.run(["keygen", "--out", store.file("keys")]).status, 0)
        for (arguments, command) in [(["verify"], "verify"), (["prune", store.path], "prune"), (["verify", "x", "--level", "sideways", "--trusted-key", store.file("keys/allowed_signers")], "verify"),
                                     (["config", "check"], "config check"), (["inspect", "x", "--profile", "p"], "inspect")] {
            let result = try PGSealCLI.run(arguments)
            XCTAssertEqual(result.status, 2, "\(arguments): \(result.err)")
            let lines = result.err.split(separator: "\n").map(String.init)
            XCTAssertTrue(lines.first?.hasPrefix("pgseal: error: ") ?? false, "\(arguments): \(result.err)")
            XCTAssertTrue(result.err.contains("Usage: pgseal \(command)"), "\(arguments): \(result.err)")
            XCTAssertTrue(result.err.contains("See 'pgseal \(command) --help'"), "\(arguments): \(result.err)")
            XCTAssertFalse(result.err.contains("Error: "), "\(arguments): two error formats: \(result.err)")
        }
        let unknown = try PGSealCLI.run(["frobnicate"])
        XCTAssertEqual(unknown.status, 2)
        XCTAssertTrue(unknown.err.hasPrefix("pgseal: error: ") && unknown.err.contains("pgseal --help"), unknown.err)
    }

    /// Reports on stdout (so that `> report.txt` holds them), logs and summaries on stderr, and
    /// with `--log-format json` every stderr line is JSON.
    func testReportsGoToStdoutAndEveryLogLineCanBeJSON() throws {
        let store = try TemporaryDirectory()
        XCTAssertEqual(try PGSealCLI.run(["keygen", "--out", store.file("keys")]).status, 0)
        let exported = try PGSealCLI.run(["export", "--profile", "kessan-user-data", "--db", try ExportFixture.url(), "--to", store.file("a"),
                                          "-R", store.file("keys/age-recipient.txt"), "--sign-key", store.file("keys/signing-key"),
                                          "--log-format", "json", "--progress", "never"])
        XCTAssertEqual(exported.status, 0, exported.err)
        let archive = exported.out.trimmingCharacters(in: .newlines)
        XCTAssertTrue(FileManager.default.fileExists(atPath: archive), "stdout holds the archive's path: \(exported.out)")
        let logLines = exported.err.split(separator: "\n")
        XCTAssertGreaterThan(logLines.count, 2, exported.err)
        for line in logLines {
            XCTAssertNoThrow(try JSONDocument(data: Data(line.utf8))["message"].string(), "not a JSON log line: \(line)")
        }
        let trusted = ["--trusted-key", store.file("keys/allowed_signers")]
        let verified = try PGSealCLI.run(["verify", archive, "--level", "seal"] + trusted)
        XCTAssertEqual(verified.status, 0, verified.err)
        XCTAssertTrue(verified.out.hasPrefix("verified at level seal: "), "the report belongs on stdout: \(verified.out)")
        XCTAssertEqual(verified.err, "")
        for command in [["verify", archive, "--level", "seal"], ["inspect", archive], ["list", store.file("a")], ["check", store.file("a"), "--max-age", "1h"]] {
            let result = try PGSealCLI.run(command + trusted + ["--json"])
            XCTAssertEqual(result.status, 0, "\(command): \(result.err)")
            XCTAssertNoThrow(try JSONDocument(data: result.stdout), "\(command) --json: \(result.out)")
        }
    }

    func testAMisspelledConfigKeyIsAnErrorNamingTheNearestKey() throws {
        let store = try TemporaryDirectory()
        for (yaml, expected) in [("to: /tmp\nrecipient_file: r.txt\n", #"unknown key "recipient_file"; did you mean recipients_file?"#),
                                 ("profiles:\n  - name: p\n    tables:\n      - table: users\n        colums: [id]\n",
                                  #"unknown key "profiles[0].tables[0].colums"; did you mean columns?"#),
                                 ("to: /tmp\nfrobnicate: 1\n", "valid keys here:")] {
            try yaml.write(toFile: store.file("c.yaml"), atomically: true, encoding: .utf8)
            let result = try PGSealCLI.run(["config", "check", "--config", store.file("c.yaml")])
            XCTAssertEqual(result.status, 2, result.err)
            XCTAssertTrue(result.err.contains(expected), "expected «\(expected)» in: \(result.err)")
        }
        XCTAssertTrue(try PGSealCLI.run(["config", "check", "--config", store.file("c.yaml")]).err.contains("did you mean") == false)
    }
}

/// `--latest`: "the newest archive of a profile" for a directory and a bucket alike, chosen
/// among archives whose seal verifies only.
final class LatestArchiveTests: XCTestCase {
    func testTheNewestVerifiedArchiveIsChosenInADirectoryAndABucket() throws {
        let keys = try TemporaryDirectory()
        XCTAssertEqual(try PGSealCLI.run(["keygen", "--out", keys.path]).status, 0)
        let s3 = try S3Server.shared()
        let bucket = try s3.makeBucket()
        let local = try TemporaryDirectory()
        let trusted = ["--trusted-key", keys.file("allowed_signers")]
        for store in [local.path, "s3://\(bucket)/nightly/"] {
            func export() throws -> String {
                let result = try PGSealCLI.run(["export", "--profile", "kessan-user-data", "--db", try ExportFixture.url(), "--to", store, "-R", keys.file("age-recipient.txt"),
                                                "--sign-key", keys.file("signing-key")], environment: s3.environment())
                XCTAssertEqual(result.status, 0, result.err)
                return result.out.trimmingCharacters(in: .newlines)
            }
            _ = try export()
            Thread.sleep(forTimeInterval: 1.1)  // archive names have one-second resolution
            let newest = try export()
            let verified = try PGSealCLI.run(["verify", store, "--latest", "--profile", "kessan-user-data", "--level", "seal"] + trusted,
                                             environment: s3.environment())
            XCTAssertEqual(verified.status, 0, verified.err)
            XCTAssertTrue(verified.err.contains("the newest verified archive: \(newest)"), verified.err)
            let inspected = try PGSealCLI.run(["inspect", store, "--latest"] + trusted, environment: s3.environment())
            XCTAssertEqual(inspected.status, 0, inspected.err)
            XCTAssertTrue(inspected.out.contains(newest), inspected.out)
            let untrusted = try PGSealCLI.run(["verify", store, "--latest", "--level", "seal"], environment: s3.environment())
            XCTAssertEqual(untrusted.status, 2, untrusted.err)
            let other = try PGSealCLI.run(["verify", store, "--latest", "--profile", "other", "--level", "seal"] + trusted, environment: s3.environment())
            XCTAssertEqual(other.status, 2, other.err)
            XCTAssertTrue(other.err.contains("no archive of profile other"), other.err)
        }
        // A newer archive whose signature is gone is not the newest archive.
        Thread.sleep(forTimeInterval: 1.1)
        let unsigned = try PGSealCLI.run(["export", "--profile", "kessan-user-data", "--db", try ExportFixture.url(), "--to", local.path, "--no-encrypt", "--no-sign"])
        XCTAssertEqual(unsigned.status, 0, unsigned.err)
        let chosen = try PGSealCLI.run(["verify", local.path, "--latest", "--level", "seal"] + trusted)
        XCTAssertEqual(chosen.status, 0, chosen.err)
        XCTAssertFalse(chosen.err.contains(unsigned.out.trimmingCharacters(in: .newlines)), chosen.err)
    }
}
