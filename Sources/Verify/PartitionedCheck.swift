import ArchiveFormat
import ArchiveReading
import ByteStreams
import Cryptography
import Foundation
import ObjectStore

/// Verification of a partitioned archive (docs/FORMAT.md §10): first what the signed seal says
/// of itself — that its sums and digests follow from its parts and that each split table's
/// ranges meet end to end — then every part as the archive it is, held to its entry in the seal.
struct PartitionedCheck {
    let gated: GatedArchive
    let seal: SealDocument
    let request: VerificationRequest

    func run(into report: inout VerificationReport) throws {
        guard let parts = seal.parts else { return }
        for problem in PartitionedSeal.problems(of: seal) { report.fail("seal", problem) }
        guard report.ok else { return }
        let started = Date()
        var observed: [String: [VerificationReport.Table]] = [:]
        var bytes: Int64 = 0
        var sources: [RestoreCheck.Source] = []
        // Parts are read `partJobs` at a time, each on threads of its own; their findings are
        // merged in part order, as if read one after another.
        let outcomes = try readParts(parts)
        for (part, outcome) in zip(parts, outcomes) {
            switch outcome {
            case .refused(let problem):
                report.fail(problem.location, problem.problem)
            case .missing:
                report.fail(part.object, "the part is missing: the archive is incomplete")
            case .read(let partReport, let manifest, let partGated):
                if let manifest {
                    let keys = request.keys
                    sources.append(.init(manifest: manifest, openTar: { try partGated.openTar(keys: keys) },
                                         ranges: Dictionary(part.tables.map { ($0.name, $0.range) }, uniquingKeysWith: { a, _ in a }), label: part.object))
                }
                for failure in partReport.failures { report.fail("\(part.object) \(failure.location)", failure.problem) }
                for note in partReport.notes where !report.notes.contains(note) { report.notes.append(note) }
                bytes = [bytes, partReport.objectBytes ?? 0].saturatingSum()
                for table in partReport.tables { observed[table.name, default: []].append(table) }
            }
        }
        report.objectBytes = bytes
        report.phases["read"] = Date().timeIntervalSince(started)
        guard request.level != .seal else { return }
        for table in seal.tables {
            let pieces = observed[table.name] ?? []
            let digest = SHA256Hasher.listDigest(pieces.map(\.digest))
            // Counted from the parts' rows, compared with a signed (possibly hostile) seal: a sum
            // that does not fit is a mismatch, not a trap.
            let rows = pieces.map(\.rows).checkedSum()
            report.tables.append(.init(name: table.name, rows: rows ?? .max, bytes: pieces.map(\.bytes).saturatingSum(), digest: digest,
                                       digestMatches: pieces.allSatisfy(\.digestMatches) && digest == table.digest && rows == table.rows))
        }
        // All parts into one scratch database, keys added after the last: a row in two parts
        // fails its key; each table read back range by range against its parts' digests.
        if request.level == .restore, report.ok, sources.count == parts.count {
            try Verifier.restore(sources, request: request, into: &report)
        }
    }

    private enum PartOutcome {
        case read(VerificationReport, Manifest?, GatedArchive)
        case refused(SealProblem)
        case missing
    }

    /// Every part read at the request's level, `partJobs` at a time; an error that stops the
    /// verification (not a finding) is thrown once all have ended.
    private func readParts(_ parts: [SealPart]) throws -> [PartOutcome] {
        // Each thread only reads the check, the seal and the request.
        let check = UncheckedBox(self)
        let results = ParallelIndices.map(count: parts.count, threads: request.partJobs) { index in
            UncheckedBox(Result { try check.value.readPart(parts[index], number: index, of: parts.count) })
        }
        guard let results, results.count == parts.count else { throw ArchiveError(operation: "read", message: "not every part was read") }
        return try results.map { try $0.value.get() }
    }

    private func readPart(_ part: SealPart, number index: Int, of count: Int) throws -> PartOutcome {
        let partGated: GatedArchive
        do {
            partGated = try gated.gatedPart(part, number: index, of: count)
        } catch let problem as SealProblem {
            return .refused(problem)
        }
        var partReport = VerificationReport(archive: partGated.location.display, level: request.level)
        do {
            let manifest = try Verifier.readObject(partGated, seal: seal.seal(ofPart: part), request: request, into: &partReport)
            return .read(partReport, manifest, partGated)
        } catch let error as StoreError {
            if case .notFound = error { return .missing }
            throw error
        }
    }
}
