import Configuration
import Foundation
import ObjectStore

/// The store settings given on the command line (`--endpoint-url`, `--region`, `--ca-bundle`);
/// nil where a flag was not given.
package struct StoreFlags: Sendable {
    package var endpoint: String?
    package var region: String?
    package var caBundle: String?

    package init(endpoint: String? = nil, region: String? = nil, caBundle: String? = nil) {
        self.endpoint = endpoint
        self.region = region
        self.caBundle = caBundle
    }

    var values: [AbsoluteConfigKey: ConfigValue] {
        var values: [AbsoluteConfigKey: ConfigValue] = [:]
        values.set("s3_endpoint", endpoint.map { .string($0) })
        values.set("s3_region", region.map { .string($0) })
        values.set("ca_bundle", caBundle.map { .string($0) })
        return values
    }
}

extension StoreSettings {
    /// The store settings of every command, from the same layers: built-in defaults < the
    /// config file (`s3_endpoint`, `s3_region`, `ca_bundle`, `s3_part_size_mib`,
    /// `s3_concurrency`, `s3_sse`, …) < `PGSEAL_…` variables < flags. What these leave open, the
    /// AWS tools' own variables fill (`AWS_ENDPOINT_URL_S3`, `AWS_REGION`, `AWS_CA_BUNDLE`,
    /// the credential chain): they travel in `awsVariables`. `environment` is the process's,
    /// read once by the caller; `configFile` the file named by a flag, else `PGSEAL_CONFIG`.
    package static func resolve(flags: StoreFlags, configFile: String?, environment: [String: String]) throws -> StoreSettings {
        let path = configFile ?? environment["PGSEAL_CONFIG"].flatMap { $0.isEmpty ? nil : $0 }
        return try resolve(flags: flags, file: try path.map(ConfigFile.load), environment: environment)
    }

    package static func resolve(flags: StoreFlags, file: ConfigFile?, environment: [String: String]) throws -> StoreSettings {
        var providers: [any ConfigProvider] = [
            InMemoryProvider(name: "flags", values: flags.values),
            ConfigLayers.environment(environment),
        ]
        if let file { providers.append(InMemoryProvider(name: "config file", values: file.storeValues)) }
        let config = ConfigReader(providers: providers)
        var settings = StoreSettings()
        settings.endpoint = config.string(forKey: "s3_endpoint")
        settings.region = config.string(forKey: "s3_region")
        settings.caBundle = config.string(forKey: "ca_bundle")
        settings.partSize = config.int(forKey: "s3_part_size_mib", default: 16) << 20
        settings.concurrency = config.int(forKey: "s3_concurrency", default: settings.concurrency)
        // For tests: parts grow within a small object; replicate copies part by part.
        settings.partsPerTier = config.int(forKey: "s3_parts_per_tier", default: settings.partsPerTier)
        settings.copyPartSize = config.int(forKey: "s3_copy_part_size_mib").map { Int64($0) << 20 }
        var options = S3ObjectOptions()
        options.serverSideEncryption = config.string(forKey: "s3_sse")
        options.kmsKeyID = config.string(forKey: "s3_kms_key_id")
        options.storageClass = config.string(forKey: "s3_storage_class")
        options.objectLockMode = config.string(forKey: "s3_object_lock_mode")
        options.retainDays = config.int(forKey: "s3_retain_days")
        options.tags = S3ObjectOptions.tags(parsing: config.string(forKey: "s3_tags") ?? "")
        settings.objectOptions = options
        settings.awsVariables = environment.filter { $0.key.hasPrefix("AWS_") && !$0.value.isEmpty }
        // Checked here, where the names a user wrote are known, as well as where the store opens.
        try settings.validate(for: "the S3 settings")
        return settings
    }
}

extension ConfigFile {
    var storeValues: [AbsoluteConfigKey: ConfigValue] {
        var values = StoreFlags(endpoint: s3Endpoint, region: s3Region, caBundle: caBundle).values
        values.set("s3_part_size_mib", s3PartSizeMib.map { .int($0) })
        values.set("s3_concurrency", s3Concurrency.map { .int($0) })
        values.set("s3_sse", s3Sse.map { .string($0) })
        values.set("s3_kms_key_id", s3KmsKeyId.map { .string($0) })
        values.set("s3_storage_class", s3StorageClass.map { .string($0) })
        values.set("s3_object_lock_mode", s3ObjectLockMode.map { .string($0) })
        values.set("s3_retain_days", s3RetainDays.map { .int($0) })
        values.set("s3_tags", s3Tags.map { .string($0) })
        return values
    }
}
