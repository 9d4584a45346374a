import ArchiveFormat
import ByteStreams
import Configuration
import Cryptography
import DatabaseCatalog
import Foundation
import ObjectStore
import Settings
import Yams

/// Everything an export needs to know, resolved from built-in defaults < the config file <
/// `PGSEAL_…` environment variables < command-line flags.
public struct ExportSettings: Sendable {
    public var database: String
    public var destination: String
    public var profile: Profile
    public var compression: Compression
    public var chunkSize: Int
    public var jobs: Int
    public var progress: ProgressMode
    /// Empty means unencrypted, which only an explicit `--no-encrypt` allows.
    public var recipients: [AgeRecipient]
    /// Nil means unsigned, which only an explicit `--no-sign` allows.
    public var signingKey: SSHSigningKey?
    /// How the destination store is reached (S3 endpoint, region, credentials, part sizes).
    public var storeSettings = StoreSettings()
    /// Incomplete uploads of earlier exports older than this are removed (seconds).
    public var staleUploadAge: TimeInterval = 24 * 3600
    /// Warnings found while resolving (key file permissions), for the caller to log.
    public var warnings: [String] = []
    /// A worker of a partitioned export: the part (from 0) of the plan in the store that this
    /// process writes, unsigned (docs/FORMAT.md §10).
    public var workerPart: Int?
    /// How long a worker waits for the coordinator's plan to appear in the store.
    public var planWait: TimeInterval = 600
    /// A partitioned export's key, shared by its coordinator and workers outside the store
    /// (`PartitionKey`). A coordinator that starts its workers makes one when none is given.
    public var partitionKey: PartitionKey?
    /// How long a session may wait for a lock that this export holds (or this export for a lock
    /// it needs) before the export gives way: the longest the application's queries on a table
    /// can queue behind a DDL statement that waits for the export (LockWatchdog).
    public var lockWaitTimeout: TimeInterval = SnapshotSession.defaultLockWaitTimeout
    /// A snapshot exported elsewhere that this export reads instead of taking its own, and the
    /// WAL position it corresponds to: a logical slot's (`CREATE_REPLICATION_SLOT … (SNAPSHOT
    /// 'export')`), so that the archive is the base its change segments start from — no change
    /// before the slot's consistent point missing from it, none after it in it.
    public var baseSnapshot: BaseSnapshot?
    /// Take the snapshot through a temporary logical replication slot, so that the archive's
    /// WAL position is exact (`ExactSnapshot`): needs `wal_level = logical`, the REPLICATION
    /// privilege and a free slot.
    public var exactPosition = false
    /// How long the export waits for its readers' next chunk before it calls the database stalled.
    public var stallTimeout: TimeInterval = 1800

    public static let defaultChunkSizeMiB = 2
}

/// An exported snapshot and the WAL position it corresponds to (`ExportSettings.baseSnapshot`).
public struct BaseSnapshot: Sendable, Equatable {
    public let snapshot: String
    public let walLSN: String

    public init(snapshot: String, walLSN: String) {
        self.snapshot = snapshot
        self.walLSN = walLSN
    }
}

public enum ProgressMode: String, Sendable, CaseIterable {
    case auto, always, never
}

/// Settings given on the command line; nil where a flag was not given.
public struct ExportFlags: Sendable {
    public var configFile: String?
    public var database: String?
    public var destination: String?
    public var profile: String?
    public var compression: String?
    public var compressionLevel: Int?
    public var zstdThreads: Int?
    public var chunkSizeMiB: Int?
    public var jobs: Int?
    public var progress: String?
    public var recipients: [String] = []
    public var recipientsFile: String?
    public var signKey: String?
    public var noEncrypt = false
    public var noSign = false
    public var s3Endpoint: String?
    public var s3Region: String?
    public var caBundle: String?
    /// Ad-hoc tables (`--table`), instead of a profile, with `--exclude-column T.C` and the
    /// archive's name (`--name`, default `adhoc`).
    public var tables: [String] = []
    public var excludeColumns: [String] = []
    public var name: String?

    public init() {}
}

extension ConfigFile {
    /// The file's export settings, as one layer under the environment and the flags.
    var exportLayer: InMemoryProvider {
        var flags = ExportFlags()
        flags.database = db
        flags.destination = to
        flags.profile = profile
        flags.compression = compression
        flags.compressionLevel = compressionLevel
        flags.zstdThreads = zstdThreads
        flags.chunkSizeMiB = chunkSizeMib
        flags.jobs = jobs
        flags.progress = progress
        flags.recipients = recipients ?? []
        flags.recipientsFile = recipientsFile
        flags.signKey = signKey
        var values = flags.configValues
        values.set("stale_upload_hours", staleUploadHours.map { .int($0) })
        return InMemoryProvider(name: "config file", values: values)
    }

}

extension ExportSettings {
    /// Resolves settings from flags, `environment` and the config file named by the flags or by
    /// `PGSEAL_CONFIG`.
    public static func resolve(flags: ExportFlags, environment: [String: String]) throws -> ExportSettings {
        var providers: [any ConfigProvider] = [
            InMemoryProvider(name: "flags", values: flags.configValues),
            ConfigLayers.environment(environment),
        ]
        var fileProfiles: [Profile] = []
        var file: ConfigFile?
        if let path = flags.configFile ?? environment["PGSEAL_CONFIG"].flatMap({ $0.isEmpty ? nil : $0 }) {
            let loaded = try ConfigFile.load(path)
            providers.append(loaded.exportLayer)
            fileProfiles = loaded.profiles ?? []
            file = loaded
        }
        let config = ConfigReader(providers: providers)

        let profiles = fileProfiles + Profile.builtIn.filter { builtIn in !fileProfiles.contains { $0.name == builtIn.name } }
        let known = profiles.map(\.name).joined(separator: ", ")
        let profile: Profile
        if !flags.tables.isEmpty {
            guard flags.profile == nil else { throw ConfigurationError("--table and --profile are alternatives: give one") }
            profile = try Profile.adHoc(tables: flags.tables, excludeColumns: flags.excludeColumns, name: flags.name ?? "adhoc")
        } else {
            guard flags.excludeColumns.isEmpty, flags.name == nil else { throw ConfigurationError("--exclude-column and --name go with --table") }
            guard let profileName = config.string(forKey: "profile") else {
                throw ConfigurationError("no profile: give --profile NAME (known: \(known)), or --table T [--table …] for an ad-hoc export")
            }
            guard let named = profiles.first(where: { $0.name == profileName }) else {
                throw ConfigurationError("unknown profile \(profileName); known profiles: \(known)")
            }
            profile = named
        }
        try profile.validate()

        let compressionName = config.string(forKey: "compression", default: "zstd")
        guard let compression = Compression(
            name: compressionName, level: config.int(forKey: "compression_level"),
            threads: config.int(forKey: "zstd_threads", default: 0))
        else {
            throw ConfigurationError("unknown compression \(compressionName): use zstd, gzip or none")
        }
        let chunkSizeMiB = config.int(forKey: "chunk_size_mib", default: defaultChunkSizeMiB)
        guard (1...1024).contains(chunkSizeMiB) else {
            throw ConfigurationError("chunk size must be between 1 and 1024 MiB, not \(chunkSizeMiB)")
        }
        let jobs = config.int(forKey: "jobs", default: 1)
        guard (1...64).contains(jobs) else { throw ConfigurationError("jobs must be between 1 and 64, not \(jobs)") }
        let progressName = config.string(forKey: "progress", default: "auto")
        guard let progress = ProgressMode(rawValue: progressName) else {
            throw ConfigurationError("--progress takes auto, always or never, not \(progressName)")
        }
        guard let destination = config.string(forKey: "to"), !destination.isEmpty else {
            throw ConfigurationError("no destination: give --to DIR (or s3://bucket/prefix/), PGSEAL_TO, or `to:` in the config file")
        }
        let keys = try SealingKeys(recipients: config.stringArray(forKey: "recipients", default: []),
                                   recipientsFile: config.string(forKey: "recipients_file"), signKey: config.string(forKey: "sign_key"),
                                   noEncrypt: flags.noEncrypt, noSign: flags.noSign)
        let (recipients, signingKey, warnings) = (keys.recipients, keys.signingKey, keys.warnings)
        return ExportSettings(
            database: config.string(forKey: "db", isSecret: true, default: ""),
            destination: destination, profile: profile, compression: compression,
            chunkSize: chunkSizeMiB << 20, jobs: jobs, progress: progress,
            recipients: recipients, signingKey: signingKey,
            storeSettings: try StoreSettings.resolve(flags: StoreFlags(endpoint: flags.s3Endpoint, region: flags.s3Region, caBundle: flags.caBundle),
                                             file: file, environment: environment),
            staleUploadAge: TimeInterval(config.int(forKey: "stale_upload_hours", default: 24) * 3600), warnings: warnings)
    }
}

extension ExportFlags {
    var configValues: [AbsoluteConfigKey: ConfigValue] {
        var values: [AbsoluteConfigKey: ConfigValue] = [:]
        values.set("db", database.map { .string($0) }, secret: true)
        values.set("to", destination.map { .string($0) })
        values.set("profile", profile.map { .string($0) })
        values.set("compression", compression.map { .string($0) })
        values.set("compression_level", compressionLevel.map { .int($0) })
        values.set("zstd_threads", zstdThreads.map { .int($0) })
        values.set("chunk_size_mib", chunkSizeMiB.map { .int($0) })
        values.set("jobs", jobs.map { .int($0) })
        values.set("progress", progress.map { .string($0) })
        if !recipients.isEmpty { values.set("recipients", .stringArray(recipients)) }
        values.set("recipients_file", recipientsFile.map { .string($0) })
        values.set("sign_key", signKey.map { .string($0) })
        return values
    }
}

extension Profile {
    /// Checks what can be checked without a database: names present, no column twice, key
    /// columns among the exported ones.
    func validate() throws {
        guard !tables.isEmpty else { throw ConfigurationError("profile \(name) has no tables") }
        var seen = Set<String>()
        for table in tables {
            guard !table.tableName.isEmpty else { throw ConfigurationError("profile \(name): a table has no name") }
            guard seen.insert(table.qualifiedName).inserted else {
                throw ConfigurationError("profile \(name): table \(table.qualifiedName) is listed twice")
            }
            if let columns = table.columns {
                guard !columns.isEmpty else { throw ConfigurationError("profile \(name), table \(table.qualifiedName): empty column list") }
                guard Set(columns).count == columns.count else {
                    throw ConfigurationError("profile \(name), table \(table.qualifiedName): a column is listed twice")
                }
                for key in table.key ?? [] where !columns.contains(key) {
                    throw ConfigurationError("profile \(name), table \(table.qualifiedName): key column \(key) is not among the exported columns; add it to columns")
                }
            }
        }
    }
}

/// The keys an archive is written with: its age recipients (none only with `--no-encrypt`) and
/// the key that signs its seal (none only with `--no-sign`), for `export` and `seal` alike.
public struct SealingKeys: Sendable {
    public let recipients: [AgeRecipient]
    public let signingKey: SSHSigningKey?
    /// Key-file permission warnings, for the caller to log.
    public var warnings: [String] = []

    public init(recipients texts: [String], recipientsFile: String?, signKey: String?, noEncrypt: Bool, noSign: Bool) throws {
        var recipients = try texts.map { try AgeRecipient(parsing: $0) }
        if let recipientsFile { recipients += try AgeRecipient.load(file: recipientsFile) }
        if noEncrypt && !recipients.isEmpty {
            throw ConfigurationError("--no-encrypt and recipients were both given: choose one")
        }
        if !noEncrypt && recipients.isEmpty {
            throw ConfigurationError("no recipients: give --recipient age1… or --recipients-file F (pgseal keygen makes a key pair), or --no-encrypt for an unencrypted archive")
        }
        self.recipients = recipients
        if let signKey, !noSign {
            if let warning = KeyFiles.permissionWarning(signKey) { warnings.append(warning) }
            signingKey = try SSHSigningKey.load(file: signKey)
        } else if !noSign {
            throw ConfigurationError("no signing key: give --sign-key F (pgseal keygen makes one), or --no-sign for an archive without a signed seal, which list, check and verify will not accept")
        } else {
            signingKey = nil
        }
    }
}
