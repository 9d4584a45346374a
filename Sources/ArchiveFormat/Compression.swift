/// The compression filter over the tar stream.
public enum Compression: Sendable, Equatable, CustomStringConvertible {
    case zstd(level: Int, threads: Int)
    case gzip(level: Int)
    case none

    /// The object name's suffix after `.tar`.
    public var fileExtension: String {
        switch self {
        case .zstd: ".zst"
        case .gzip: ".gz"
        case .none: ""
        }
    }

    public var name: String {
        switch self {
        case .zstd: "zstd"
        case .gzip: "gzip"
        case .none: "none"
        }
    }

    public var description: String {
        switch self {
        case .zstd(let level, let threads): threads > 0 ? "zstd -\(level) (\(threads) threads)" : "zstd -\(level)"
        case .gzip(let level): "gzip -\(level)"
        case .none: "none"
        }
    }

    /// Parses `zstd`, `gzip` or `none` with a level (the default level when nil).
    public init?(name: String, level: Int?, threads: Int = 0) {
        switch name {
        case "zstd": self = .zstd(level: level ?? 3, threads: threads)
        case "gzip": self = .gzip(level: level ?? 6)
        case "none": self = .none
        default: return nil
        }
    }
}
