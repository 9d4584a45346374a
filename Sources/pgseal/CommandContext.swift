import ByteStreams
import Foundation
import Logging
import ObjectStore
import Settings

/// What every command does first, in one place: logging set up, the process environment read —
/// here, once; nothing below the command line reads it — the store settings resolved from the
/// config file < `PGSEAL_…` variables < flags, and the process's clean-up registry, which the
/// signal handlers run.
struct CommandContext {
    let logger: Logger
    let environment: [String: String]
    let storeSettings: StoreSettings
    var cleanup: CleanupRegistry { SignalHandlers.cleanup }

    /// `s3`: the command's store flags (nil for a command that opens no store); `configFile`:
    /// its `--config`, else `PGSEAL_CONFIG` names the file.
    init(_ global: GlobalOptions, s3: S3Options?, configFile: String? = nil) throws {
        logger = global.bootstrapLogging()
        environment = ProcessInfo.processInfo.environment
        if let s3 {
            storeSettings = try StoreSettings.resolve(flags: s3.flags, configFile: configFile, environment: environment)
        } else {
            storeSettings = StoreSettings()
        }
    }

    /// A variable of the environment, nil when unset or empty (as shells and container specs
    /// often leave them).
    func variable(_ name: String) -> String? {
        environment[name].flatMap { $0.isEmpty ? nil : $0 }
    }
}
