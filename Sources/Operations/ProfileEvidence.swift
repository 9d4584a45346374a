import ArchiveFormat
import ByteStreams
import Foundation
import Verify

/// One profile's part of the report. What grows with the number of archives is written to
/// `archivesJSON` as it streams by; in memory stay the newest archives (`listed`), an even
/// sample for the charts (`samples`) and lists capped at `ProfileEvidence.maxListed`.
public struct ProfileEvidence: Encodable {
    public static let maxListed = 1000

    public struct Schedule: Encodable, Sendable {
        public let expectedIntervalSeconds: Double?
        /// `given` or `median of the intervals seen`.
        public let expectedIntervalSource: String
        public let rpoSeconds: Double?
        public let rpoSource: String

        enum CodingKeys: String, CodingKey {
            case expectedIntervalSeconds = "expected_interval_seconds"
            case expectedIntervalSource = "expected_interval_source"
            case rpoSeconds = "rpo_seconds"
            case rpoSource = "rpo_source"
        }
    }

    /// An interval without an archive longer than the RPO, from the archive before it; `to`
    /// nil: still open now.
    public struct Gap: Encodable, Sendable {
        public let from: String
        public let to: String?
        public let hours: Double
    }

    public struct Anomaly: Encodable, Sendable {
        /// `shrank` (by more than the alert share) or `vanished` (a table no longer there).
        public let kind: String
        public let object: String
        public let createdAt: String
        public let table: String
        public let before: Int
        public let after: Int

        enum CodingKeys: String, CodingKey {
            case kind, object, table, before, after
            case createdAt = "created_at"
        }
    }

    /// A run of consecutive archives with the same signer (or the same recipients).
    public struct Period: Encodable, Sendable {
        public let value: [String]
        public let first: String
        public let last: String
        public let archives: Int
    }

    public struct LastVerification: Encodable, Sendable {
        public let at: String
        public let verifier: String
        public let verifierPrincipals: [String]
        public let object: String

        enum CodingKeys: String, CodingKey {
            case at, verifier, object
            case verifierPrincipals = "verifier_principals"
        }
    }

    public let profile: String
    public let schedule: Schedule
    public let archiveCount: Int
    /// Archives by state: `sealed`, `tombstone`, `object-missing`, `unverifiable`.
    public let states: [String: Int]
    public let newest: String?
    public let tables: [String]
    public let gaps: [Gap]
    public let anomalies: [Anomaly]
    public let signers: [Period]
    public let recipients: [Period]
    public let chain: ChainState
    /// Per level, the newest believed attestation that the level verified an archive.
    public let lastVerified: [String: LastVerification]
    public let failedVerifications: Int
    public let findings: [String]
    /// Gaps, anomalies and findings past `maxListed`, counted only.
    public let unlisted: [String: Int]

    /// The newest archives, oldest first: the page's tables.
    public let listed: [ArchiveEvidence]
    /// An even sample of every archive, with every archive that is not plainly sealed or that
    /// an anomaly or a restore drill marks, oldest first: the page's charts.
    public let samples: [ArchiveEvidence]
    /// Every archive as JSON objects separated by commas, oldest first.
    package let archivesJSON: SpoolFile

    enum CodingKeys: String, CodingKey {
        case profile, schedule, states, newest, tables, gaps, anomalies, signers, recipients, chain, findings, unlisted
        case archiveCount = "archive_count"
        case lastVerified = "last_verified"
        case failedVerifications = "failed_verifications"
    }
}

/// Builds a `ProfileEvidence` from a profile's entries as `SeriesReader.scan` hands them over.
package struct ProfileEvidenceBuilder {
    static let listedArchives = 120
    static let sampleTarget = 800

    package let profile: String
    let settings: EvidenceReport.Settings
    private var walker: ChainWalker
    private let archivesJSON: SpoolFile
    private let encoder: JSONEncoder
    private var count = 0
    private var states: [String: Int] = [:]
    private var newest: String?
    private var tables: Set<String> = []
    private var previousBelieved: ArchiveEvidence?
    /// Creation times of believed archives (seconds): the intervals, the median, the gaps.
    private var times: [Double] = []
    private var anomalies: [ProfileEvidence.Anomaly] = []
    private var unlistedAnomalies = 0
    private var unlistedTables = 0
    private var signers: [ProfileEvidence.Period] = []
    private var recipients: [ProfileEvidence.Period] = []
    private var lastVerified: [String: ProfileEvidence.LastVerification] = [:]
    private var failedVerifications = 0
    private var attestationFindings: [String] = []
    private var unlistedFindings = 0
    private var listed: [ArchiveEvidence] = []
    private var samples: [(index: Int, pinned: Bool, archive: ArchiveEvidence)] = []
    private var stride = 1
    private var pins = 0

    public init(profile: String, settings: EvidenceReport.Settings) throws {
        self.profile = profile
        self.settings = settings
        walker = ChainWalker(profile: profile, since: settings.since)
        archivesJSON = try SpoolFile()
        encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
    }

    package mutating func addSegment(_ entry: SegmentEntry) { walker.addSegment(entry) }

    package mutating func add(_ entry: SeriesEntry) throws {
        walker.add(entry)
        var archive = ArchiveEvidence(entry: entry)
        let index = count
        count += 1
        states[archive.state, default: 0] += 1
        newest = archive.createdAt
        var pinned = archive.state == "object-missing" || archive.state == "unverifiable"
        if archive.state != "unverifiable" {
            // Names are signed but not trusted to be few: past the cap, a table is counted only.
            for table in archive.rows.keys where !tables.contains(table) {
                if tables.count < ProfileEvidence.maxListed { tables.insert(table) } else { unlistedTables += 1 }
            }
            if let previous = previousBelieved {
                // Row counts come from signed seals, which a compromised exporter writes: a change
                // that does not fit an Int is left out rather than trapped on.
                archive.changes = archive.rows.reduce(into: [:]) { changes, table in
                    let (change, overflow) = table.value.subtractingReportingOverflow(previous.rows[table.key] ?? 0)
                    if !overflow { changes[table.key] = change }
                }
                pinned = noteAnomalies(from: previous, to: archive) || pinned
            }
            previousBelieved = archive
            if let time = StampFormat.date(archive.createdAt) { times.append(time.timeIntervalSince1970) }
            extend(&signers, with: archive.signer.map { [$0] }, at: archive.createdAt)
            extend(&recipients, with: archive.recipients.sorted(), at: archive.createdAt)
        }
        pinned = noteAttestations(of: archive) || pinned
        if index > 0 { try archivesJSON.write(",\n") }
        try encoder.encode(archive).withUnsafeBytes { try archivesJSON.write($0) }
        listed.append(archive)
        if listed.count > Self.listedArchives { listed.removeFirst() }
        sample(archive, index: index, pinned: pinned)
    }

    /// Keeps every `stride`-th archive and the pinned ones; when the sample outgrows twice its
    /// target, every other one goes and the stride doubles.
    private mutating func sample(_ archive: ArchiveEvidence, index: Int, pinned: Bool) {
        let pin = pinned && pins < ProfileEvidence.maxListed
        if pin { pins += 1 }
        guard pin || index % stride == 0 else { return }
        samples.append((index, pin, archive))
        if samples.count - pins > 2 * Self.sampleTarget {
            stride *= 2
            samples.removeAll { !$0.pinned && $0.index % stride != 0 }
        }
    }

    private mutating func noteAnomalies(from previous: ArchiveEvidence, to current: ArchiveEvidence) -> Bool {
        var found = false
        for (table, rows) in previous.rows.sorted(by: { $0.key < $1.key }) {
            let now = current.rows[table]
            let kind: String
            if let now {
                guard rows > 0, (Double(rows) - Double(now)) / Double(rows) > settings.shrinkAlert else { continue }
                kind = "shrank"
            } else {
                guard !current.rows.isEmpty else { continue }
                kind = "vanished"
            }
            found = true
            guard anomalies.count < ProfileEvidence.maxListed else { unlistedAnomalies += 1; continue }
            anomalies.append(.init(kind: kind, object: current.object, createdAt: current.createdAt, table: table, before: rows, after: now ?? 0))
        }
        return found
    }

    /// Records what the archive's attestations say; true when one is a believed restore drill.
    private mutating func noteAttestations(of archive: ArchiveEvidence) -> Bool {
        var drilled = false
        for attestation in archive.attestations {
            guard attestation.trust == "verified" else {
                finding("\(profile): an attestation of \(archive.object) is not believed: \(attestation.problem ?? "")")
                continue
            }
            guard attestation.result == "verified" else {
                failedVerifications += 1
                finding("\(profile): \(archive.object) FAILED verification at level \(attestation.level ?? "?") on \(attestation.at ?? "?") by \(attestation.verifier ?? "?"): "
                        + attestation.failures.prefix(3).joined(separator: "; "))
                continue
            }
            guard let level = attestation.level.flatMap(VerificationReport.Level.init(rawValue:)), let at = attestation.at,
                  let verifier = attestation.verifier else { continue }
            if level == .restore { drilled = true }
            // A restore verification is also a deep and a seal one.
            for covered in VerificationReport.Level.allCases where covered.strength <= level.strength {
                if (lastVerified[covered.rawValue]?.at ?? "") < at {
                    lastVerified[covered.rawValue] = .init(at: at, verifier: verifier, verifierPrincipals: attestation.verifierPrincipals, object: archive.object)
                }
            }
        }
        return drilled
    }

    private mutating func finding(_ line: String) {
        if attestationFindings.count < ProfileEvidence.maxListed { attestationFindings.append(line) } else { unlistedFindings += 1 }
    }

    private func extend(_ periods: inout [ProfileEvidence.Period], with value: [String]?, at time: String) {
        guard let value else { return }
        if let last = periods.last, last.value == value {
            periods[periods.count - 1] = .init(value: value, first: last.first, last: time, archives: last.archives + 1)
        } else if periods.count < ProfileEvidence.maxListed {
            periods.append(.init(value: value, first: time, last: time, archives: 1))
        }
    }

    public mutating func finish() -> ProfileEvidence {
        let chain = walker.finish()
        let intervals = zip(times, times.dropFirst()).map { $1 - $0 }.filter { $0 > 0 }
        let expected = settings.expectedInterval ?? median(intervals)
        let rpo = settings.rpo ?? expected.map { $0 * 1.5 }
        var gaps: [ProfileEvidence.Gap] = []
        var unlistedGaps = 0
        func gap(_ from: Double, _ to: Double?) {
            guard gaps.count < ProfileEvidence.maxListed else { unlistedGaps += 1; return }
            let end = to ?? settings.now.timeIntervalSince1970
            gaps.append(.init(from: StampFormat.rfc3339(Date(timeIntervalSince1970: from)),
                              to: to.map { StampFormat.rfc3339(Date(timeIntervalSince1970: $0)) }, hours: (end - from) / 3600))
        }
        if let rpo {
            for (from, to) in zip(times, times.dropFirst()) where to - from > rpo { gap(from, to) }
            if let last = times.last, settings.now.timeIntervalSince1970 - last > rpo { gap(last, nil) }
        }
        var findings = chain.breaks.map { "\(profile): series break — \($0)" }
        findings += gaps.map { gap in
            "\(profile): no archive for \(FreshnessCheck.duration(gap.hours * 3600)) after \(gap.from)" + (gap.to.map { " (until \($0))" } ?? " (until now)")
        }
        findings += anomalies.map { "\(profile): \($0.table) \($0.kind) from \($0.before) to \($0.after) rows in \($0.object)" }
        findings += attestationFindings
        let schedule = ProfileEvidence.Schedule(
            expectedIntervalSeconds: expected, expectedIntervalSource: settings.expectedInterval != nil ? "given" : "median of the intervals seen",
            rpoSeconds: rpo, rpoSource: settings.rpo != nil ? "given" : "1.5 × the expected interval")
        let unlisted = ["breaks": chain.unlistedBreaks, "gaps": unlistedGaps, "anomalies": unlistedAnomalies, "findings": unlistedFindings,
                        "tables": unlistedTables].filter { $0.value > 0 }
        return ProfileEvidence(
            profile: profile, schedule: schedule, archiveCount: count, states: states, newest: newest, tables: tables.sorted(),
            gaps: gaps, anomalies: anomalies, signers: signers, recipients: recipients, chain: chain, lastVerified: lastVerified,
            failedVerifications: failedVerifications, findings: findings, unlisted: unlisted,
            listed: listed, samples: samples.map(\.archive), archivesJSON: archivesJSON)
    }

    func median(_ values: [Double]) -> Double? {
        guard !values.isEmpty else { return nil }
        let sorted = values.sorted()
        return sorted[sorted.count / 2]
    }
}

extension ArchiveEvidence {
    init(entry: SeriesEntry) {
        let seal = entry.seal
        let state = seal == nil ? "unverifiable" : entry.objectPresent ? "sealed" : entry.tombstone != nil ? "tombstone" : "object-missing"
        self.init(
            state: state, object: entry.object, key: entry.key, createdAt: entry.createdAt,
            problem: entry.problem ?? (state == "object-missing" ? "the object is gone without a tombstone" + (entry.tombstoneProblem.map { " (\($0))" } ?? "") : nil),
            bytes: seal?.size, durationSeconds: seal?.durationSeconds,
            rows: Dictionary((seal?.tables ?? []).map { ($0.name, $0.rows) }, uniquingKeysWith: { a, _ in a }),
            signer: seal?.signer, signerPrincipals: entry.signerPrincipals, recipients: seal?.recipients ?? [],
            encryption: seal?.encryption, tool: seal?.tool, removedAt: entry.tombstone?.removedAt, removedReason: entry.tombstone?.reason,
            attestations: entry.attestations.map { record in
                AttestationEvidence(level: record.attestation?.level, result: record.attestation?.result, at: record.attestation?.verifiedAt,
                                    verifier: record.attestation?.verifier, verifierPrincipals: record.verifierPrincipals,
                                    durationSeconds: record.attestation?.durationSeconds, trust: record.trust.rawValue, problem: record.problem,
                                    failures: record.attestation?.failures ?? [])
            })
    }
}
