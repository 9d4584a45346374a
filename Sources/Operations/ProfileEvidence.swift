import Archive
import Foundation
import Verify

/// One profile's part of the report.
public struct ProfileEvidence: Encodable, Sendable {
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

    /// An interval without an archive longer than the RPO; `to` nil: still open now.
    public struct Gap: Encodable, Sendable {
        public let from: String
        public let to: String?
        public let hours: Double
        public let after: String
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
    public let archives: [ArchiveEvidence]
    public let tables: [String]
    public let gaps: [Gap]
    public let anomalies: [Anomaly]
    public let signers: [Period]
    public let recipients: [Period]
    public let chain: ChainState
    /// Per level, the newest believed attestation that the level verified an archive.
    public let lastVerified: [String: LastVerification]
    public let failedVerifications: Int
    public var findings: [String]

    enum CodingKeys: String, CodingKey {
        case profile, schedule, archives, tables, gaps, anomalies, signers, recipients, chain, findings
        case lastVerified = "last_verified"
        case failedVerifications = "failed_verifications"
    }

    static func build(profile: String, entries: [SeriesEntry], chain: ChainState, settings: EvidenceReport.Settings) -> ProfileEvidence {
        var archives = entries.map(ArchiveEvidence.init(entry:))
        let believed = archives.indices.filter { archives[$0].state != "unverifiable" }
        // Changes against the previous believed archive.
        for (previous, current) in zip(believed, believed.dropFirst()) {
            let before = archives[previous].rows
            archives[current].changes = archives[current].rows.reduce(into: [:]) { $0[$1.key] = $1.value - (before[$1.key] ?? 0) }
        }
        var anomalies: [Anomaly] = []
        for (previous, current) in zip(believed, believed.dropFirst()) {
            let a = archives[previous], b = archives[current]
            for (table, rows) in a.rows.sorted(by: { $0.key < $1.key }) {
                guard let now = b.rows[table] else {
                    if !b.rows.isEmpty { anomalies.append(Anomaly(kind: "vanished", object: b.object, createdAt: b.createdAt, table: table, before: rows, after: 0)) }
                    continue
                }
                if rows > 0, Double(rows - now) / Double(rows) > settings.shrinkAlert {
                    anomalies.append(Anomaly(kind: "shrank", object: b.object, createdAt: b.createdAt, table: table, before: rows, after: now))
                }
            }
        }
        let times = believed.compactMap { StampFormat.date(archives[$0].createdAt) }
        let intervals = zip(times, times.dropFirst()).map { $1.timeIntervalSince($0) }.filter { $0 > 0 }
        let expected = settings.expectedInterval ?? median(intervals)
        let rpo = settings.rpo ?? expected.map { $0 * 1.5 }
        var gaps: [Gap] = []
        if let rpo {
            for (index, (from, to)) in zip(times, times.dropFirst()).enumerated() where to.timeIntervalSince(from) > rpo {
                gaps.append(Gap(from: StampFormat.rfc3339(from), to: StampFormat.rfc3339(to), hours: to.timeIntervalSince(from) / 3600,
                                after: archives[believed[index]].object))
            }
            if let last = times.last, let lastIndex = believed.last, settings.now.timeIntervalSince(last) > rpo {
                gaps.append(Gap(from: StampFormat.rfc3339(last), to: nil, hours: settings.now.timeIntervalSince(last) / 3600, after: archives[lastIndex].object))
            }
        }
        var lastVerified: [String: LastVerification] = [:]
        var failed = 0
        for archive in archives {
            for attestation in archive.attestations where attestation.trust == "verified" {
                guard attestation.result == "verified" else { failed += 1; continue }
                guard let level = attestation.level, let at = attestation.at, let verifier = attestation.verifier else { continue }
                // A restore verification is also a deep and a seal one.
                for covered in VerificationReport.Level.allCases where covered.strength <= (VerificationReport.Level(rawValue: level)?.strength ?? -1) {
                    if (lastVerified[covered.rawValue]?.at ?? "") < at {
                        lastVerified[covered.rawValue] = LastVerification(at: at, verifier: verifier, verifierPrincipals: attestation.verifierPrincipals, object: archive.object)
                    }
                }
            }
        }
        let schedule = Schedule(
            expectedIntervalSeconds: expected, expectedIntervalSource: settings.expectedInterval != nil ? "given" : "median of the intervals seen",
            rpoSeconds: rpo, rpoSource: settings.rpo != nil ? "given" : "1.5 × the expected interval")
        var evidence = ProfileEvidence(
            profile: profile, schedule: schedule, archives: archives,
            tables: Array(Set(archives.flatMap(\.rows.keys))).sorted(), gaps: gaps, anomalies: anomalies,
            signers: periods(archives.filter { $0.signer != nil }) { [$0.signer ?? ""] },
            recipients: periods(archives.filter { $0.state != "unverifiable" }) { $0.recipients.sorted() },
            chain: chain, lastVerified: lastVerified, failedVerifications: failed, findings: [])
        evidence.findings = evidence.judge()
        return evidence
    }

    /// One line per thing an auditor must look at.
    func judge() -> [String] {
        var lines: [String] = chain.breaks.map { "\(profile): series break — \($0)" }
        lines += gaps.map { gap in
            "\(profile): no archive for \(FreshnessCheck.duration(gap.hours * 3600)) after \(gap.after)" + (gap.to == nil ? " (until now)" : " (until \(gap.to ?? ""))")
        }
        lines += anomalies.map { "\(profile): \($0.table) \($0.kind) from \($0.before) to \($0.after) rows in \($0.object)" }
        for archive in archives {
            for attestation in archive.attestations {
                if attestation.trust != "verified" {
                    lines.append("\(profile): an attestation of \(archive.object) is not believed: \(attestation.problem ?? "")")
                } else if attestation.result != "verified" {
                    lines.append("\(profile): \(archive.object) FAILED verification at level \(attestation.level ?? "?") on \(attestation.at ?? "?") by \(attestation.verifier ?? "?"): "
                                 + attestation.failures.prefix(3).joined(separator: "; "))
                }
            }
        }
        return lines
    }

    static func median(_ values: [Double]) -> Double? {
        guard !values.isEmpty else { return nil }
        let sorted = values.sorted()
        return sorted[sorted.count / 2]
    }

    static func periods(_ archives: [ArchiveEvidence], _ value: (ArchiveEvidence) -> [String]) -> [Period] {
        var periods: [Period] = []
        for archive in archives {
            let current = value(archive)
            if let last = periods.last, last.value == current {
                periods[periods.count - 1] = Period(value: current, first: last.first, last: archive.createdAt, archives: last.archives + 1)
            } else {
                periods.append(Period(value: current, first: archive.createdAt, last: archive.createdAt, archives: 1))
            }
        }
        return periods
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
