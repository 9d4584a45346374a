// A service that embeds PGSealKit, as a scheduler or an operator's daemon would: it configures
// S3 itself (endpoint and keys from its own settings file, not the process environment), keeps
// its own SIGTERM handler, runs an export and verifies what it wrote at level deep.
// `pgseal-example-embedded-service SETTINGS.json`; exit 0 when the archive verified and the
// service's own signal handler still ran, 1 when the archive did not verify, 2 on an error.
import Dispatch
import Foundation
import PGSealKit

/// The service's own settings, from its own file (in a real service: its secret store).
struct ServiceSettings: Decodable {
    var endpoint: String
    var region: String
    var accessKeyID: String
    var secretAccessKey: String
    var store: String
    var database: String
    var profile: String
    var recipientsFile: String
    var signKey: String
    var allowedSigners: String
    var identity: String
}

func fail(_ message: String, _ code: Int32) -> Never {
    FileHandle.standardError.write(Data("error: \(message)\n".utf8))
    exit(code)
}

guard CommandLine.arguments.count == 2 else { fail("usage: pgseal-example-embedded-service SETTINGS.json", 2) }
let service: ServiceSettings
do {
    service = try JSONDecoder().decode(ServiceSettings.self, from: Data(contentsOf: URL(fileURLWithPath: CommandLine.arguments[1])))
} catch {
    fail("the settings file: \(error)", 2)
}

// The host's signal handling, installed before the library runs: PGSealKit never replaces it.
// (Installed from a function, not top-level code: the handler runs off the main actor.)
func installTerminationHandler(_ received: DispatchSemaphore) -> DispatchSourceSignal {
    signal(SIGTERM, SIG_IGN)
    let source = DispatchSource.makeSignalSource(signal: SIGTERM, queue: .global())
    source.setEventHandler {
        FileHandle.standardOutput.write(Data("host: SIGTERM handled by the service's own handler\n".utf8))
        received.signal()
    }
    source.resume()
    return source
}
let received = DispatchSemaphore(value: 0)
let termination = installTerminationHandler(received)
// What an interrupted operation would leave is registered here; the service's handler could
// run `cleanup.runAll(within:)` before it stops.
let cleanup = CleanupRegistry()

var store = StoreSettings(endpoint: service.endpoint, region: service.region,
                          credentials: .fixed(accessKeyID: service.accessKeyID, secretAccessKey: service.secretAccessKey))
store.partSize = 5 << 20

do {
    var flags = ExportFlags()
    flags.database = service.database
    flags.destination = service.store
    flags.profile = service.profile
    flags.recipientsFile = service.recipientsFile
    flags.signKey = service.signKey
    var settings = try ExportSettings.resolve(flags: flags, environment: [:])
    settings.storeSettings = store
    let exported = try PGSeal.export(settings, cleanup: cleanup)
    FileHandle.standardOutput.write(Data("exported: \(exported.archive)\n".utf8))

    let signers = try AllowedSigners.load(files: [service.allowedSigners])
    var request = VerificationRequest(archive: exported.archive, level: .deep, policy: TrustPolicy(signers: signers),
                                      keys: AgeKeyring(identities: try AgeIdentity.load(file: service.identity)))
    request.storeSettings = store
    request.cleanup = cleanup
    let report = try PGSeal.verify(request)
    FileHandle.standardOutput.write(Data((report.ok ? "verified at level deep: \(exported.archive)" : "FAILED: \(report.failures)").utf8 + [10]))

    // The library is done; the process's signals are still the service's.
    kill(getpid(), SIGTERM)
    guard received.wait(timeout: .now() + 10) == .success else { fail("the service's SIGTERM handler did not run", 2) }
    exit(report.ok ? 0 : 1)
} catch let error as PGSealError {
    fail("\(error)", error.exitCode)
} catch {
    fail("\(error)", 2)
}
