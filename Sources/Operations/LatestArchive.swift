import Cryptography
import ObjectStore

/// "The newest archive of a profile", the way a runbook names it: the newest archive in a store
/// whose seal verifies against the trusted signers — never one that is unsealed, being
/// written, or signed by someone else.
package enum LatestArchive {
    package struct NotFound: Error, CustomStringConvertible {
        package let description: String
        /// The store holds several profiles' archives and none was named.
        package var needsProfile = false
    }

    /// The location (path or `s3://…` URL) of the newest verified archive of `profile` under
    /// `store`; without a profile, the store must hold archives of one profile only.
    package static func location(in store: ObjectStore, named storeName: String, profile: String?, signers: AllowedSigners) throws -> String {
        let catalog = try ArchiveCatalog.scan(store, profile: profile, signers: signers)
        let profiles = Set(catalog.sealed.map(\.profile)).sorted()
        if profile == nil, profiles.count > 1 {
            throw NotFound(description: "\(storeName) holds archives of several profiles (\(profiles.joined(separator: ", "))): name the profile", needsProfile: true)
        }
        guard let newest = catalog.sealed.first else {
            let unverified = catalog.unverified.count
            throw NotFound(description: "no archive\(profile.map { " of profile \($0)" } ?? "") in \(storeName) has a seal that verifies"
                + (unverified > 0 ? " (\(unverified) whose seal does not: see pgseal list)" : ""))
        }
        return newest.location
    }
}
