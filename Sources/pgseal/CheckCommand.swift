import ArgumentParser
import Cryptography
import Foundation
import Logging
import Operations
import PGSealKit
import Settings
import Verify

struct CheckCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check",
        abstract: "Monitor a store: the newest sealed archive of each profile is fresh and verifies.",
        discussion: """
            Exit codes: 0 every profile is fine; 1 an archive is late, missing or fails \
            verification; 2 the check could not run. On 1, --alert-webhook receives a POST of \
            {"text": "…"} (Slack-style incoming webhooks); --alert-sns-topic gets the same text as an SNS message. --metrics-file writes Prometheus text \
            for node-exporter's textfile collector, atomically, in every case.

            Example (every hour from cron, the nightly export's recovery point objective 26 h):
              pgseal check /var/backups/pgseal --max-age 26h --trusted-key allowed_signers \\
                --alert-webhook https://hooks.example.com/T000/B000 --metrics-file /var/lib/node_exporter/pgseal.prom
            """)

    @Argument(help: ArgumentHelp("A store: a directory or s3://bucket/prefix/ (default: `to` of the config file, PGSEAL_TO).", valueName: "store"))
    var store: String?

    @Option(name: .long, help: ArgumentHelp("The configuration file (default: PGSEAL_CONFIG): max_age, trusted_keys, alert_webhook, alert_sns_topic, metrics_file.", valueName: "file"))
    var config: String?

    @Option(name: .long, help: ArgumentHelp("Oldest acceptable age of the newest archive: 90m, 26h, 7d (PGSEAL_MAX_AGE).", valueName: "duration"))
    var maxAge: String?

    @Option(name: .long, help: ArgumentHelp("Only this profile (default: every profile in the store).", valueName: "name"))
    var profile: String?

    @Option(name: .long, help: ArgumentHelp("Verification level of the newest archive: seal (default) or deep, as verify --level.", valueName: "level"))
    var level = "seal"

    @OptionGroup(title: "Trust")
    var trust: TrustOptions

    @OptionGroup var identities: IdentityOptions

    @Option(name: .long, help: ArgumentHelp("Require a recorded restore verification (verify --level restore --attest-key) of an archive of each profile within this span, such as 35d: the restore drill as a monitored fact.", valueName: "duration"))
    var requireRestoreVerifiedWithin: String?

    @Option(name: .long, help: ArgumentHelp("The same for a recorded deep (or restore) verification.", valueName: "duration"))
    var requireDeepVerifiedWithin: String?

    @Option(name: .long, help: ArgumentHelp("allowed_signers file of the verifiers whose attestations count (repeatable; default: the trusted keys).", valueName: "file"))
    var trustedVerifier: [String] = []

    @Option(name: .long, help: ArgumentHelp("POST an alert here when the check fails.", valueName: "url"))
    var alertWebhook: String?

    @Option(name: .long, help: ArgumentHelp("Publish an alert to this SNS topic (arn:aws:sns:REGION:ACCOUNT:NAME) when the check fails.", valueName: "arn"))
    var alertSnsTopic: String?

    @Option(name: .long, help: ArgumentHelp("Also require each profile's change segments (pgseal follow) to be this current: the newest one, its seal verified, sealed within this span, such as 15m — the recovery point.", valueName: "duration"))
    var maxLag: String?

    @Option(name: .long, help: ArgumentHelp("Write Prometheus metrics to this file.", valueName: "file"))
    var metricsFile: String?

    @OptionGroup(title: "Output") var output: OutputOptions

    @OptionGroup(title: "S3")
    var s3: S3Options

    @OptionGroup var global: GlobalOptions

    func run() throws {
        let context = try CommandContext(global, s3: s3, configFile: config)
        let logger = context.logger
        var flags = OperationsSettings.Flags()
        flags.configFile = config
        flags.store = store
        flags.maxAge = maxAge
        flags.trustedKeys = trust.trustedKey
        flags.alertWebhook = alertWebhook
        flags.alertSNSTopic = alertSnsTopic
        flags.metricsFile = metricsFile
        let settings = try OperationsSettings.resolve(flags: flags, environment: context.environment)
        guard let store = settings.store else { throw ValidationError("no store: give STORE, or `to:` in the config file (PGSEAL_TO)") }
        guard let maxAgeText = settings.maxAge else { throw ValidationError("no --max-age: give the oldest acceptable age, such as 26h (or max_age in the config file)") }
        guard let maxAge = FreshnessCheck.parseDuration(maxAgeText) else { throw ValidationError("--max-age takes a duration such as 90m, 26h or 7d") }
        guard let level = VerificationReport.Level(rawValue: level), level != .restore else { throw ValidationError("--level takes seal or deep") }
        let policy = try trust.policy(environment: context.environment, files: settings.trustedKeys)
        let keys = try identities.keyring()
        var request = FreshnessCheck.Request(store: store, maxAge: maxAge, profile: profile, level: level, policy: policy, keys: keys)
        request.storeSettings = context.storeSettings
        if let maxLag {
            guard let span = FreshnessCheck.parseDuration(maxLag) else { throw ValidationError("--max-lag takes a duration such as 90s, 15m or 1h") }
            request.maxLag = span
        }
        for (text, required, option) in [(requireRestoreVerifiedWithin, VerificationReport.Level.restore, "--require-restore-verified-within"),
                                         (requireDeepVerifiedWithin, .deep, "--require-deep-verified-within")] {
            guard let text else { continue }
            guard let span = FreshnessCheck.parseDuration(text) else { throw ValidationError("\(option) takes a duration such as 35d") }
            request.requiredVerifications.append((required, span))
        }
        if !trustedVerifier.isEmpty { request.verifiers = try AllowedSigners.load(files: trustedVerifier) }
        let result = try PGSeal.check(request)
        if let metricsFile = settings.metricsFile {
            try Data(FreshnessCheck.metrics(result).utf8).write(to: URL(fileURLWithPath: metricsFile), options: .atomic)
        }
        // One line each (the output escapes every line, a newline within one included).
        try output.emit(result, human: result.profiles.isEmpty ? ["no archive of any profile in \(store)"] : result.profiles.flatMap(CheckSummary.lines))
        guard result.ok else {
            let text = "pgseal check of \(store) failed:\n" + result.profiles.filter { $0.status != "ok" }
                .map { "• \($0.profile): \($0.status) — \($0.problem ?? "")" }.joined(separator: "\n")
                + (result.profiles.isEmpty ? "no archive at all" : "")
            if let webhook = settings.alertWebhook {
                try Alerts.webhook(webhook, text: text)
                logger.notice("alert posted to the webhook")
            }
            if let topic = settings.alertSNSTopic {
                try Alerts.sns(topic, subject: "pgseal check of \(store) failed", text: text, settings: context.storeSettings)
                logger.notice("alert published to \(topic)")
            }
            throw CommandVerdict.bad(nil)
        }
    }
}

enum CheckSummary {
    static func lines(_ profile: FreshnessCheck.ProfileResult) -> [String] {
        var lines = ["\(profile.profile): \(profile.status)" + (profile.problem.map { " — \($0)" } ?? (profile.archive.map { " — \($0)" } ?? ""))]
        for (level, by) in profile.lastVerified.sorted(by: { $0.key > $1.key }) {
            lines.append("  \(level)-verified \(by.at) by \(by.verifier) (\(by.archive))")
        }
        if let changes = profile.changes {
            let ago = changes.lagSeconds.map { " (\(FreshnessCheck.duration($0)) ago)" } ?? ""
            lines.append("  changes sealed \(changes.sealedAt ?? "-")\(ago), up to \(changes.sealedLSN ?? "-"), last commit \(changes.lastCommit ?? "-")")
        }
        return lines
    }
}
