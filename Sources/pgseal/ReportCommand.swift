import ArgumentParser
import Cryptography
import Display
import EvidenceHTML
import Foundation
import Operations
import PGSealKit

/// `pgseal report`: the auditors' evidence for a store, as a page to file and as JSON.
struct ReportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: "Write the auditors' evidence for a store: one self-contained HTML page, and JSON.",
        discussion: """
            Reads the seals, tombstones and attestations of every archive (never an object, no \
            decryption key), checks every signature, and writes per profile: the archives against \
            the expected schedule and the RPO with gaps marked; rows per table over time with \
            anomalies flagged (a table shrinking by more than --shrink-alert, or vanishing); sizes \
            and export durations; each archive's verification state and recorded verifications; \
            signers and recipients over time; the series' state with every break; what was \
            checked, when, and against which keys. The page needs no network and runs no script; \
            print it to PDF from a browser. docs/AUDITORS.md explains each section.
            Exit codes: 0 no finding; 1 findings (listed on the page, in the JSON, and here); 2 could not report.

            Example:
              pgseal report s3://kessan-backups/pgseal/ --trusted-key allowed_signers --html evidence.html --report evidence.json
            """)

    @Argument(help: ArgumentHelp("A store: a directory or s3://bucket/prefix/.", valueName: "store"))
    var store: String

    @Option(name: .long, help: ArgumentHelp("Write the HTML page here.", valueName: "file"))
    var html: String?

    @Option(name: .long, help: ArgumentHelp("Only this profile.", valueName: "name"))
    var profile: String?

    @Option(name: .long, help: ArgumentHelp("Only archives created on or after this date (2026-11-01 or an RFC 3339 time).", valueName: "date"))
    var since: String?

    @Option(name: .long, help: ArgumentHelp("The expected interval between archives, such as 24h (default: the median interval seen).", valueName: "duration"))
    var expectEvery: String?

    @Option(name: .long, help: ArgumentHelp("The longest acceptable time without an archive, such as 26h (default: 1.5 × the expected interval).", valueName: "duration"))
    var rpo: String?

    @Option(name: .long, help: ArgumentHelp("Flag a table that loses more than this share of its rows from one archive to the next (default 10%).", valueName: "percent"))
    var shrinkAlert: String = "10%"

    @Option(name: .long, help: ArgumentHelp("allowed_signers file of the verifiers whose attestations count (repeatable; default: the trusted keys).", valueName: "file"))
    var trustedVerifier: [String] = []

    @OptionGroup(title: "Trust")
    var trust: TrustOptions

    @OptionGroup(title: "Output") var output: OutputOptions

    @OptionGroup(title: "S3")
    var s3: S3Options

    @OptionGroup var global: GlobalOptions

    func validate() throws {
        if html == nil && output.report == nil && !output.json {
            throw ValidationError("nothing to write: give --html FILE, --report FILE (JSON) or --json")
        }
        guard Self.share(shrinkAlert) != nil else { throw ValidationError("--shrink-alert takes a share such as 10% or 0.1") }
    }

    static func share(_ text: String) -> Double? {
        let value = text.hasSuffix("%") ? Double(text.dropLast()).map { $0 / 100 } : Double(text)
        guard let value, value > 0, value <= 1 else { return nil }
        return value
    }

    func run() throws {
        let context = try CommandContext(global, s3: s3)
        let started = Date()
        let policy = try trust.policy(environment: context.environment)
        let verifiers = trustedVerifier.isEmpty ? policy.signers : try AllowedSigners.load(files: trustedVerifier)
        var settings = EvidenceReport.Settings()
        settings.since = try since.map { try DateArgument.parse($0, option: "--since") }
        settings.expectedInterval = try expectEvery.map { try Self.duration($0, option: "--expect-every") }
        settings.rpo = try rpo.map { try Self.duration($0, option: "--rpo") }
        settings.shrinkAlert = Self.share(shrinkAlert) ?? 0.1
        var report = try PGSeal.evidence(in: store, profile: profile, policy: policy, verifiers: verifiers, settings: settings, storeSettings: context.storeSettings)
        report.seconds = Date().timeIntervalSince(started)
        if let html {
            try Data(EvidencePage.render(report).utf8).write(to: URL(fileURLWithPath: html), options: .atomic)
        }
        if let file = output.report { try Self.writeJSON(report, to: file) }
        if output.json {
            try report.writeJSON { FileHandle.standardOutput.write(Data($0)) }
        } else {
            HumanOutput.out(Self.lines(report, html: html))
        }
        if !report.ok { throw CommandVerdict.bad(nil) }
    }

    /// Streams the JSON into a temporary file beside `path`, then renames it: a reader never
    /// sees half a report.
    static func writeJSON(_ report: EvidenceReport, to path: String) throws {
        let temporary = path + ".partial-\(getpid())"
        guard FileManager.default.createFile(atPath: temporary, contents: nil), let handle = FileHandle(forWritingAtPath: temporary) else {
            throw ReportWriteError(path: path, reason: "it cannot be created")
        }
        do {
            try report.writeJSON { try handle.write(contentsOf: Data($0)) }
            try handle.close()
            guard rename(temporary, path) == 0 else { throw ReportWriteError(path: path, reason: String(cString: strerror(errno))) }
        } catch {
            try? FileManager.default.removeItem(atPath: temporary)
            throw error
        }
    }

    static func duration(_ text: String, option: String) throws -> TimeInterval {
        guard let value = FreshnessCheck.parseDuration(text) else { throw ValidationError("\(option) takes a duration such as 24h or 7d") }
        return value
    }

    static func lines(_ report: EvidenceReport, html: String?) -> [String] {
        var lines = report.profiles.map { p in
            Terminal.escaped("\(p.profile): \(Format.plural(p.archiveCount, "archive")), series \(p.chain.status), \(Format.plural(p.gaps.count, "gap")), "
                + "\(Format.plural(p.anomalies.count, "anomaly", "anomalies")), last restore-verified \(p.lastVerified["restore"]?.at ?? "never")")
        }
        if report.profiles.isEmpty { lines.append("no sealed archive in \(report.store)") }
        lines += report.findings.map { "  FINDING " + Terminal.escaped($0) }
        if let html { lines.append("report written to \(html)" + String(format: " (%.2f s)", report.seconds)) }
        return lines
    }
}

/// The report file could not be written (exit 2): where, and why.
struct ReportWriteError: Error, CustomStringConvertible {
    let path: String
    let reason: String
    var description: String { "writing the report to \(path) failed: \(reason)" }
}
