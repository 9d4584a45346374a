import ByteStreams
import DatabaseCatalog
import Foundation
import Yams

/// The config file. Its profiles are lists of tables, which swift-configuration's YAML
/// provider does not take (it reads scalars and scalar arrays), so Yams decodes the file and
/// its scalar settings become one layer of the configuration reader.
package struct ConfigFile: Decodable {
    package var db: String?
    package var to: String?
    package var profile: String?
    package var compression: String?
    package var compressionLevel: Int?
    package var zstdThreads: Int?
    package var chunkSizeMib: Int?
    package var jobs: Int?
    package var progress: String?
    package var recipients: [String]?
    package var recipientsFile: String?
    package var signKey: String?
    package var s3Endpoint: String?
    package var s3Region: String?
    package var caBundle: String?
    package var s3PartSizeMib: Int?
    package var s3Concurrency: Int?
    package var s3Sse: String?
    package var s3KmsKeyId: String?
    package var s3StorageClass: String?
    package var s3ObjectLockMode: String?
    package var s3RetainDays: Int?
    package var s3Tags: String?
    package var staleUploadHours: Int?
    package var profiles: [Profile]?
    // Retention, monitoring and alerting (OperationsSettings).
    var maxAge: String?
    var trustedKeys: [String]?
    var alertWebhook: String?
    var alertSnsTopic: String?
    var metricsFile: String?
    var keepDays: Int?
    var keepLast: Int?
    var keepDaily: Int?
    var keepWeekly: Int?
    var keepMonthly: Int?
    var keepWithin: String?

    enum CodingKeys: String, CodingKey, CaseIterable {
        case s3Endpoint = "s3_endpoint"
        case s3Region = "s3_region"
        case caBundle = "ca_bundle"
        case s3PartSizeMib = "s3_part_size_mib"
        case s3Concurrency = "s3_concurrency"
        case s3Sse = "s3_sse"
        case s3KmsKeyId = "s3_kms_key_id"
        case s3StorageClass = "s3_storage_class"
        case s3ObjectLockMode = "s3_object_lock_mode"
        case s3RetainDays = "s3_retain_days"
        case s3Tags = "s3_tags"
        case staleUploadHours = "stale_upload_hours"
        case maxAge = "max_age"
        case trustedKeys = "trusted_keys"
        case alertWebhook = "alert_webhook"
        case alertSnsTopic = "alert_sns_topic"
        case metricsFile = "metrics_file"
        case keepDays = "keep_days"
        case keepLast = "keep_last"
        case keepDaily = "keep_daily"
        case keepWeekly = "keep_weekly"
        case keepMonthly = "keep_monthly"
        case keepWithin = "keep_within"
        case db, to, profile, compression, jobs, progress, profiles, recipients
        case recipientsFile = "recipients_file"
        case signKey = "sign_key"
        case compressionLevel = "compression_level"
        case zstdThreads = "zstd_threads"
        case chunkSizeMib = "chunk_size_mib"
    }

    package static func load(_ path: String) throws -> ConfigFile {
        guard FileManager.default.fileExists(atPath: path) else {
            throw ConfigurationError("config file \(path) does not exist")
        }
        do {
            let text = try String(contentsOfFile: path, encoding: .utf8)
            try ConfigKeys.check(text, file: path)
            return try YAMLDecoder().decode(ConfigFile.self, from: text)
        } catch let error as DecodingError {
            throw ConfigurationError("config file \(path): \(ConfigFile.describe(error))")
        } catch let error as ConfigurationError {
            throw error
        } catch {
            throw ConfigurationError("config file \(path) could not be read: \(error)")
        }
    }

    static func describe(_ error: DecodingError) -> String {
        func path(_ context: DecodingError.Context) -> String {
            context.codingPath.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }.joined(separator: ".")
        }
        switch error {
        case .typeMismatch(let type, let context): return "\(path(context)): expected \(type) — \(context.debugDescription)"
        case .valueNotFound(_, let context): return "\(path(context)): missing value"
        case .keyNotFound(let key, let context): return "\(path(context)): missing key \(key.stringValue)"
        case .dataCorrupted(let context): return "\(path(context)): \(context.debugDescription)"
        @unknown default: return "\(error)"
        }
    }
}

