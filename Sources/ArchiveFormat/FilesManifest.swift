import Foundation

/// `manifest.json` of an archive of files (`pgseal seal`), the last entry like a table
/// archive's (docs/FORMAT.md, "Archives of files"). Every entry under `files/` is listed once,
/// in archive order.
public struct FilesManifest: Codable, Sendable {
    public static let formatIdentifier = "pgseal-files/1"

    public struct File: Codable, Sendable, Equatable {
        /// The tar entry's path: `files/` and the path relative to the sealed argument's parent.
        public var path: String
        public var kind: EntryKind
        /// Permission bits, octal: `0640`.
        public var mode: String
        public var size: Int64
        /// Regular files only.
        public var sha256: String?
        /// Symbolic links only.
        public var target: String?
        public var mtime: Int

        /// Permission bits as the manifest writes them: `0640`.
        public static func modeText(_ mode: Int32) -> String { "0" + String(mode & 0o7777, radix: 8) }

        public init(path: String, kind: EntryKind, mode: Int32, size: Int64, sha256: String?, target: String?, mtime: Int) {
            self.path = path
            self.kind = kind
            self.mode = Self.modeText(mode)
            self.size = size
            self.sha256 = sha256
            self.target = target
            self.mtime = mtime
        }
    }

    public var format: String
    public var tool: Manifest.Tool
    public var createdAt: String
    public var name: String
    public var files: [File]

    enum CodingKeys: String, CodingKey {
        case format, tool, name, files
        case createdAt = "created_at"
    }

    /// The manifest's format, to tell the two kinds of archive apart before decoding either.
    public static func format(of bytes: [UInt8]) -> String? {
        struct Probe: Decodable { let format: String }
        return (try? JSONDecoder().decode(Probe.self, from: Data(bytes)))?.format
    }

    public static func decode(_ bytes: [UInt8]) throws -> FilesManifest {
        let manifest: FilesManifest
        do {
            manifest = try JSONDecoder().decode(FilesManifest.self, from: Data(bytes))
        } catch {
            throw ArchiveManifest.ReadError.malformed("\(error)")
        }
        guard manifest.format == formatIdentifier else { throw ArchiveManifest.ReadError.notPGSeal(format: manifest.format) }
        return manifest
    }

    /// One file's line in the manifest, as the writer streams it.
    public static func line(_ file: File) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try encoder.encode(file), as: UTF8.self)
    }
}
