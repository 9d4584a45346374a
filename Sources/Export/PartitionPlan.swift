import ArchiveFormat
import Display
import Foundation

/// What the coordinator of a partitioned export tells its workers (docs/FORMAT.md §10.3):
/// the snapshot to attach to and, per part, the object to write and the key ranges to read. It
/// lies in the store at `<profile>/partition-plan.json` while the export runs. It carries no SQL
/// and no credential: a worker reads its profile from its own configuration and takes only
/// names and bound values from here, and a worker treats it as hostile input.
package struct PartitionPlan: Codable, Sendable {
    package static let formatIdentifier = "pgseal-partition-plan/1"
    package static let sizeLimit = 4 << 20

    package struct Part: Codable, Sendable, Equatable {
        /// The part's object key in the store.
        package var object: String
        package var tables: [Table]
    }

    package struct Table: Codable, Sendable, Equatable {
        package var name: String
        package var range: PartRange
    }

    package var format = formatIdentifier
    /// The archive's key: its seal goes to `<archive>.seal`.
    package var archive: String
    package var profile: String
    package var createdAt: String
    package var source: Manifest.Source
    package var parts: [Part]

    enum CodingKeys: String, CodingKey {
        case format, archive, profile, source, parts
        case createdAt = "created_at"
    }

    /// The plan's key in a store, for `profile`.
    package static func key(profile: String) -> String { profile + "/partition-plan.json" }

    /// Reads a plan as a worker must: bounded, every name checked against what the worker
    /// itself knows, the snapshot name of the form the server gives.
    package static func decode(_ bytes: [UInt8], profile: String) throws -> PartitionPlan {
        let plan: PartitionPlan
        do { plan = try JSONDecoder().decode(PartitionPlan.self, from: Data(bytes)) } catch {
            throw ExportError.partition("the partition plan cannot be read: \(error)")
        }
        guard plan.format == formatIdentifier else { throw ExportError.partition("the partition plan declares format \(Terminal.escaped(plan.format))") }
        guard plan.profile == profile else {
            throw ExportError.partition("the partition plan is for profile \(Terminal.escaped(plan.profile)), not \(profile)")
        }
        guard plan.source.snapshot.range(of: #"^[0-9A-F]{1,16}-[0-9A-F]{1,16}-[0-9]{1,10}$"#, options: .regularExpression) != nil else {
            throw ExportError.partition("the partition plan's snapshot \(Terminal.escaped(plan.source.snapshot)) is not a snapshot name")
        }
        guard plan.archive.hasPrefix(profile + "/"), !plan.archive.split(separator: "/").contains("..") else {
            throw ExportError.partition("the partition plan's archive \(Terminal.escaped(plan.archive)) is not under \(profile)/")
        }
        guard (1...SealDocument.maxParts).contains(plan.parts.count) else { throw ExportError.partition("the partition plan has \(plan.parts.count) parts") }
        for (index, part) in plan.parts.enumerated() {
            guard PartNaming.archiveKey(ofPart: part.object) == plan.archive, PartNaming.position(ofPart: part.object)?.index == index, part.object.hasPrefix(profile + "/") else {
                throw ExportError.partition("part \(index + 1) of the plan names object \(Terminal.escaped(part.object)), not a part of \(Terminal.escaped(plan.archive))")
            }
            for table in part.tables {
                for bound in [table.range.from, table.range.to].compactMap({ $0 }) where bound.utf8.count > 4096 {
                    throw ExportError.partition("a key bound of \(Terminal.escaped(table.name)) in the plan is longer than 4096 bytes")
                }
            }
        }
        return plan
    }
}
