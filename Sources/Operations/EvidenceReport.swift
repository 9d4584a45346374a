import ArchiveFormat
import ArchiveReading
import Cryptography
import Foundation
import ObjectStore

/// What `pgseal report` tells an auditor about a store: per profile the series against its
/// schedule, rows, sizes and durations over time, each archive's verification state, signers
/// and recipients over time, and the chain — from seals, tombstones and attestations only.
/// Rendered as HTML by `EvidenceHTML`; encoded as JSON as it stands.
public struct EvidenceReport: Encodable {
    public struct Settings: Sendable {
        /// The expected interval between archives; nil: the median interval seen.
        public var expectedInterval: TimeInterval?
        /// The longest acceptable interval without an archive; nil: 1.5 × the expected interval.
        public var rpo: TimeInterval?
        /// A table losing more than this share of its rows from one archive to the next is flagged.
        public var shrinkAlert = 0.10
        public var since: Date?
        public var now = Date()

        public init() {}
    }

    public struct Key: Encodable, Sendable {
        public let fingerprint: String
        public let principals: [String]
        public let validAfter: String?
        public let validBefore: String?

        enum CodingKeys: String, CodingKey {
            case fingerprint, principals
            case validAfter = "valid_after"
            case validBefore = "valid_before"
        }
    }

    public let generatedAt: String
    public let tool: String
    public let store: String
    public let profileFilter: String?
    public let since: String?
    public let trustedKeys: [Key]
    public let trustedVerifiers: [Key]
    public let shrinkAlert: Double
    public var profiles: [ProfileEvidence]
    /// How long reading and judging took, in seconds.
    public var seconds: Double = 0
    /// Problems across the store, one line each: what an auditor must look at.
    public var findings: [String] { profiles.flatMap(\.findings) }
    public var ok: Bool { findings.isEmpty }

    enum CodingKeys: String, CodingKey {
        case tool, store, since, profiles, seconds, findings, ok
        case generatedAt = "generated_at"
        case profileFilter = "profile_filter"
        case trustedKeys = "trusted_keys"
        case trustedVerifiers = "trusted_verifiers"
        case shrinkAlert = "shrink_alert"
    }

    /// Every member but `profiles`, which `writeJSON` streams.
    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(generatedAt, forKey: .generatedAt)
        try c.encode(tool, forKey: .tool)
        try c.encode(store, forKey: .store)
        try c.encodeIfPresent(profileFilter, forKey: .profileFilter)
        try c.encodeIfPresent(since, forKey: .since)
        try c.encode(ok, forKey: .ok)
        try c.encode(findings, forKey: .findings)
        try c.encode(trustedKeys, forKey: .trustedKeys)
        try c.encode(trustedVerifiers, forKey: .trustedVerifiers)
        try c.encode(shrinkAlert, forKey: .shrinkAlert)
        try c.encode(seconds, forKey: .seconds)
    }

    /// Reads `store`'s series (or `profile`'s) with `SeriesReader.scan` and judges them as they
    /// stream by, one profile at a time.
    package static func build(store: ObjectStore, named name: String, profile: String?, policy: TrustPolicy, verifiers: AllowedSigners,
                             settings: Settings, limits: SeriesReader.Limits = .init()) throws -> EvidenceReport {
        var profiles: [ProfileEvidence] = []
        var builder: ProfileEvidenceBuilder?
        // A profile's change segments are walked after its archives, as `chain` walks them.
        func finish(_ builder: ProfileEvidenceBuilder?) throws {
            guard var done = builder else { return }
            try SegmentReader.scan(store, profile: done.profile, policy: policy, since: settings.since) { done.addSegment($0) }
            profiles.append(done.finish())
        }
        try SeriesReader.scan(store, profile: profile, policy: policy, verifiers: verifiers, since: settings.since, limits: limits) { entry in
            if builder?.profile != entry.profile {
                try finish(builder)
                builder = try ProfileEvidenceBuilder(profile: entry.profile, settings: settings)
            }
            try builder?.add(entry)
        }
        try finish(builder)
        return EvidenceReport(
            generatedAt: StampFormat.rfc3339(settings.now), tool: "pgseal \(PGSealVersion.current)", store: name, profileFilter: profile,
            since: settings.since.map(StampFormat.rfc3339), trustedKeys: keys(policy.signers), trustedVerifiers: keys(verifiers),
            shrinkAlert: settings.shrinkAlert, profiles: profiles.sorted { $0.profile < $1.profile })
    }

    /// The report as JSON, streamed to `write`: each profile's members, and its `archives` from
    /// the spool, so that the list of archives never has to be in memory.
    public func writeJSON(_ write: (UnsafeRawBufferPointer) throws -> Void) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        func emit(_ text: String) throws {
            var text = text
            try text.withUTF8 { try write(UnsafeRawBufferPointer($0)) }
        }
        /// `{"a":…,"b":…}` without its closing brace, to which more members are appended.
        func open(_ value: some Encodable) throws -> String {
            let text = String(decoding: try encoder.encode(value), as: UTF8.self)
            return String(text.dropLast())
        }
        try emit(try open(self) + ",\"profiles\":[")
        for (index, profile) in profiles.enumerated() {
            try emit((index == 0 ? "" : ",") + (try open(profile)) + ",\"archives\":[")
            try profile.archivesJSON.rewind()
            try profile.archivesJSON.forEachBlock(size: 256 * 1024) { try write($0) }
            try emit("]}")
        }
        try emit("]}\n")
    }

    static func keys(_ signers: AllowedSigners) -> [Key] {
        signers.entries.map {
            Key(fingerprint: $0.key.fingerprint, principals: $0.principals,
                validAfter: $0.validAfter.map(StampFormat.rfc3339), validBefore: $0.validBefore.map(StampFormat.rfc3339))
        }
    }
}

/// One archive as the report shows it.
public struct ArchiveEvidence: Encodable, Sendable {
    /// `sealed`, `tombstone` (removed by prune), `object-missing`, `unverifiable`.
    public let state: String
    public let object: String
    public let key: String
    public let createdAt: String
    public let problem: String?
    public let bytes: Int64?
    public let durationSeconds: Double?
    public let rows: [String: Int]
    /// Rows per table minus the previous believed archive's (absent for its first archive).
    public var changes: [String: Int] = [:]
    public let signer: String?
    public let signerPrincipals: [String]
    public let recipients: [String]
    public let encryption: String?
    public let tool: String?
    public let removedAt: String?
    public let removedReason: String?
    public let attestations: [AttestationEvidence]

    enum CodingKeys: String, CodingKey {
        case state, object, key, problem, bytes, rows, changes, signer, recipients, encryption, tool, attestations
        case createdAt = "created_at"
        case durationSeconds = "duration_seconds"
        case signerPrincipals = "signer_principals"
        case removedAt = "removed_at"
        case removedReason = "removed_reason"
    }
}

public struct AttestationEvidence: Encodable, Sendable {
    public let level: String?
    public let result: String?
    public let at: String?
    public let verifier: String?
    public let verifierPrincipals: [String]
    public let durationSeconds: Double?
    /// `verified` (its signature verifies against the trusted verifiers and it is bound to this
    /// seal) or `invalid`, with the reason.
    public let trust: String
    public let problem: String?
    public let failures: [String]

    enum CodingKeys: String, CodingKey {
        case level, result, at, verifier, trust, problem, failures
        case verifierPrincipals = "verifier_principals"
        case durationSeconds = "duration_seconds"
    }
}
