/// A reader was not given what it needs to read inside an archive.
package enum ArchiveAccessError: Error, CustomStringConvertible {
    /// The archive is encrypted and no age identity was given.
    case missingIdentity(String)

    package var description: String {
        switch self {
        case .missingIdentity(let archive):
            "\(archive) is encrypted: diff, restore, recover, extract and the deep and restore levels need its age identity; the seal level needs none"
        }
    }
}
