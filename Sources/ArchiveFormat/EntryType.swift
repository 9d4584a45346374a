/// The file types of tar entries pgseal writes. libarchive's header spells `AE_IFREG` and its
/// siblings as casts, which Swift does not import.
package enum EntryKind: String, Codable, Sendable {
    case file, directory, symlink, other

    var archiveType: UInt32 {
        switch self {
        case .file: 0o100000
        case .directory: 0o040000
        case .symlink: 0o120000
        case .other: 0
        }
    }

    init(archiveType: UInt32) {
        self = [EntryKind.file, .directory, .symlink].first { $0.archiveType == archiveType } ?? .other
    }
}
