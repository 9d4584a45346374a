import ByteStreams
import Foundation

/// Finds and decodes `manifest.json` in an archive stream.
package enum ArchiveManifest {
    /// Manifests hold metadata only; anything larger is not a pgseal manifest.
    package static let sizeLimit = 32 << 20

    package enum ReadError: Error, CustomStringConvertible {
        case missing
        case notPGSeal(format: String)
        case malformed(String)

        package var description: String {
            switch self {
            case .missing: "the archive has no manifest.json: it is incomplete or not a pgseal archive"
            case .notPGSeal(let format): "manifest.json declares format \(format), not one this reader knows (\(Manifest.readableFormats.sorted().joined(separator: ", ")))"
            case .malformed(let reason): "manifest.json is not valid: \(reason)"
            }
        }
    }

    /// Reads the tar stream to its manifest entry and returns the entry's bytes.
    package static func read(from source: ByteSource) throws -> [UInt8] {
        let reader = try TarReader(source: source)
        while let entry = try reader.nextEntry() {
            if entry.path == Manifest.entryPath { return try reader.readAll(entry, limit: sizeLimit) }
        }
        throw ReadError.missing
    }

    package static func decode(_ bytes: [UInt8]) throws -> Manifest {
        let manifest: Manifest
        do {
            manifest = try JSONDecoder().decode(Manifest.self, from: Data(bytes))
        } catch {
            throw ReadError.malformed("\(error)")
        }
        guard Manifest.readableFormats.contains(manifest.format) else { throw ReadError.notPGSeal(format: manifest.format) }
        return manifest
    }
}

