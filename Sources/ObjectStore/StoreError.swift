import Foundation

/// What went wrong with a store, naming the object or path and what to do.
package enum StoreError: Error, CustomStringConvertible {
    case io(operation: String, path: String, errno: Int32)
    case alreadyExists(path: String)
    case notFound(path: String)
    case invalidLocation(String, reason: String)
    /// A file from outside that is read whole (a seal, a signature, an attestation) is larger
    /// than such a file may be.
    case tooLarge(path: String, limit: Int)

    package var description: String {
        switch self {
        case .io(let operation, let path, let code):
            var text = "\(operation) \(path): \(String(cString: strerror(code)))"
            switch code {
            case ENOSPC, EDQUOT: text += " — free space on the destination or choose another; nothing was left under the final name"
            case EACCES, EPERM: text += " — check the directory's owner and permissions"
            case EROFS: text += " — the destination is mounted read-only"
            default: break
            }
            return text
        case .alreadyExists(let path):
            return "\(path) already exists; pgseal never overwrites an archive — wait a second or remove it"
        case .notFound(let path):
            return "\(path) does not exist"
        case .invalidLocation(let location, let reason):
            return "invalid location \(location): \(reason)"
        case .tooLarge(let path, let limit):
            return "\(path) is larger than \(limit) bytes, the most such a file may be: pgseal never writes one, so it was planted or altered"
        }
    }
}
