// Verifies the newest archive of a profile in a store at level seal, as an auditor's script
// would: `pgseal-example-verify-newest STORE PROFILE ALLOWED_SIGNERS`.
// Exit 0 verified, 1 the archive is bad, 2 it could not be checked.
import Foundation
import PGSealKit

let arguments = CommandLine.arguments.dropFirst()
guard arguments.count == 3, let store = arguments.first, let signersFile = arguments.last else {
    FileHandle.standardError.write(Data("usage: pgseal-example-verify-newest STORE PROFILE ALLOWED_SIGNERS\n".utf8))
    exit(2)
}
let profile = arguments.dropFirst().first
do {
    let signers = try AllowedSigners.load(files: [signersFile])
    let archive = try PGSeal.latestArchive(in: store, profile: profile, signers: signers)
    let report = try PGSeal.verify(VerificationRequest(archive: archive, level: .seal, policy: TrustPolicy(signers: signers), keys: AgeKeyring()))
    if report.ok {
        print("verified: \(archive)")
        exit(0)
    }
    print("FAILED: \(archive)")
    for failure in report.failures { print("  \(failure)") }
    exit(1)
} catch let error as PGSealError {
    FileHandle.standardError.write(Data("error: \(error)\n".utf8))
    exit(error.exitCode)
} catch {
    FileHandle.standardError.write(Data("error: \(error)\n".utf8))
    exit(2)
}
