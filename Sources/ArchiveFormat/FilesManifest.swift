import Foundation

/// `manifest.json` of an archive of files (`pgseal seal`), the last entry like a table
/// archive's (docs/FORMAT.md, "Archives of files"). Every entry under `files/` is listed once,
/// in archive order.
package struct FilesManifest: Codable, Sendable {
    package static let formatIdentifier = "pgseal-files/1"

    package struct File: Codable, Sendable, Equatable {
        /// The tar entry's path: `files/` and the path relative to the sealed argument's parent.
        package var path: String
        package var kind: EntryKind
        /// Permission bits, octal: `0640`.
        package var mode: String
        package var size: Int64
        /// Regular files only.
        package var sha256: String?
        /// Symbolic links only.
        package var target: String?
        package var mtime: Int

        /// Permission bits as the manifest writes them: `0640`.
        package static func modeText(_ mode: Int32) -> String { "0" + String(mode & 0o7777, radix: 8) }

        package init(path: String, kind: EntryKind, mode: Int32, size: Int64, sha256: String?, target: String?, mtime: Int) {
            self.path = path
            self.kind = kind
            self.mode = Self.modeText(mode)
            self.size = size
            self.sha256 = sha256
            self.target = target
            self.mtime = mtime
        }
    }

    package var format: String
    package var tool: Manifest.Tool
    package var createdAt: String
    package var name: String
    package var files: [File]

    enum CodingKeys: String, CodingKey {
        case format, tool, name, files
        case createdAt = "created_at"
    }

    /// The manifest's format, to tell the two kinds of archive apart before decoding either.
    package static func format(of bytes: [UInt8]) -> String? {
        struct Probe: Decodable { let format: String }
        return (try? JSONDecoder().decode(Probe.self, from: Data(bytes)))?.format
    }

    package static func decode(_ bytes: [UInt8]) throws -> FilesManifest {
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
    package static func line(_ file: File) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try encoder.encode(file), as: UTF8.self)
    }
}
