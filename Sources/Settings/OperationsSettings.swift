import Configuration
import Foundation

/// The settings of the unattended jobs around the export — the monitor (`check`) and retention
/// (`prune`) — from the same layers as the export's: the config file < `PGSEAL_…` environment
/// variables < flags. Keys: `to`, `max_age`, `trusted_keys`, `alert_webhook`,
/// `alert_sns_topic`, `metrics_file`, `keep_days`, `keep_last`, `keep_daily`, `keep_weekly`,
/// `keep_monthly`, `keep_within`, `stale_upload_hours`.
package struct OperationsSettings: Sendable {
    package var store: String?
    package var maxAge: String?
    package var trustedKeys: [String]
    package var alertWebhook: String?
    package var alertSNSTopic: String?
    package var metricsFile: String?
    package var keepDays: Int?
    package var keepLast: Int
    package var keepDaily: Int
    package var keepWeekly: Int
    package var keepMonthly: Int
    /// A span such as `30d` (the form `--max-age` takes).
    package var keepWithin: String?
    package var staleUploadHours: Int

    /// Flags given on the command line; nil or empty where not given.
    package struct Flags: Sendable {
        package var configFile: String?
        package var store: String?
        package var maxAge: String?
        package var trustedKeys: [String] = []
        package var alertWebhook: String?
        package var alertSNSTopic: String?
        package var metricsFile: String?
        package var keepDays: Int?
        package var keepLast: Int?
        package var keepDaily: Int?
        package var keepWeekly: Int?
        package var keepMonthly: Int?
        package var keepWithin: String?
        package var staleUploadHours: Int?

        package init() {}

        var values: [AbsoluteConfigKey: ConfigValue] {
            var values: [AbsoluteConfigKey: ConfigValue] = [:]
            values.set("to", store.map { .string($0) })
            values.set("max_age", maxAge.map { .string($0) })
            if !trustedKeys.isEmpty { values.set("trusted_keys", .stringArray(trustedKeys)) }
            // A webhook URL is a credential (whoever has it can post): kept secret in printouts.
            values.set("alert_webhook", alertWebhook.map { .string($0) }, secret: true)
            values.set("alert_sns_topic", alertSNSTopic.map { .string($0) })
            values.set("metrics_file", metricsFile.map { .string($0) })
            values.set("keep_days", keepDays.map { .int($0) })
            values.set("keep_last", keepLast.map { .int($0) })
            values.set("keep_daily", keepDaily.map { .int($0) })
            values.set("keep_weekly", keepWeekly.map { .int($0) })
            values.set("keep_monthly", keepMonthly.map { .int($0) })
            values.set("keep_within", keepWithin.map { .string($0) })
            values.set("stale_upload_hours", staleUploadHours.map { .int($0) })
            return values
        }
    }

    package static func resolve(flags: Flags, environment: [String: String]) throws -> OperationsSettings {
        var providers: [any ConfigProvider] = [
            InMemoryProvider(name: "flags", values: flags.values),
            ConfigLayers.environment(environment),
        ]
        if let path = flags.configFile ?? environment["PGSEAL_CONFIG"].flatMap({ $0.isEmpty ? nil : $0 }) {
            var file = Flags()
            let config = try ConfigFile.load(path)
            file.store = config.to
            file.maxAge = config.maxAge
            file.trustedKeys = config.trustedKeys ?? []
            file.alertWebhook = config.alertWebhook
            file.alertSNSTopic = config.alertSnsTopic
            file.metricsFile = config.metricsFile
            file.keepDays = config.keepDays
            file.keepLast = config.keepLast
            file.keepDaily = config.keepDaily
            file.keepWeekly = config.keepWeekly
            file.keepMonthly = config.keepMonthly
            file.keepWithin = config.keepWithin
            file.staleUploadHours = config.staleUploadHours
            providers.append(InMemoryProvider(name: "config file", values: file.values))
        }
        let config = ConfigReader(providers: providers)
        return OperationsSettings(
            store: config.string(forKey: "to"), maxAge: config.string(forKey: "max_age"),
            trustedKeys: config.stringArray(forKey: "trusted_keys", default: []),
            alertWebhook: config.string(forKey: "alert_webhook", isSecret: true), alertSNSTopic: config.string(forKey: "alert_sns_topic"),
            metricsFile: config.string(forKey: "metrics_file"), keepDays: config.int(forKey: "keep_days"),
            keepLast: config.int(forKey: "keep_last", default: 1), keepDaily: config.int(forKey: "keep_daily", default: 0),
            keepWeekly: config.int(forKey: "keep_weekly", default: 0), keepMonthly: config.int(forKey: "keep_monthly", default: 0),
            keepWithin: config.string(forKey: "keep_within"), staleUploadHours: config.int(forKey: "stale_upload_hours", default: 24))
    }
}
