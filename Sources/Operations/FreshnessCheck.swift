import ArchiveFormat
import ArchiveReading
import Cryptography
import Foundation
import ObjectStore
import Prometheus
import Verify

/// `pgseal check`: the monitor. The newest sealed archive of each profile must be younger than
/// the maximum age and must verify at the given level.
public struct FreshnessCheck {
    public struct Request {
        public var store: String
        /// How the store is reached (S3 endpoint, region, credentials).
        public var storeSettings = StoreSettings()
        public var maxAge: TimeInterval
        public var profile: String?
        public var level: VerificationReport.Level
        public var policy: TrustPolicy
        public var keys: AgeKeyring
        public var now = Date()
        /// Recorded verifications required: a believed attestation at this level (or a
        /// stronger one) of an archive of the profile, made within the span.
        public var requiredVerifications: [(level: VerificationReport.Level, within: TimeInterval)] = []
        /// Whose attestations count (default: the trusted signers of seals).
        public var verifiers: AllowedSigners?
        /// Also require each profile's change segments (`pgseal follow`) to be this current: the
        /// newest segment whose seal verifies sealed within it — the recovery point.
        public var maxLag: TimeInterval?

        public init(store: String, maxAge: TimeInterval, profile: String?, level: VerificationReport.Level,
                    policy: TrustPolicy, keys: AgeKeyring, now: Date = Date()) {
            self.now = now
            self.store = store
            self.maxAge = maxAge
            self.profile = profile
            self.level = level
            self.policy = policy
            self.keys = keys
        }
    }

    /// A profile's change segments, as the newest one's signed seal says.
    public struct Changes: Codable, Sendable {
        public var segment: String?
        public var sealedAt: String?
        public var lastCommit: String?
        public var sealedLSN: String?
        /// Now − when the newest segment was sealed: the recovery point.
        public var lagSeconds: Double?

        enum CodingKeys: String, CodingKey {
            case segment
            case sealedAt = "sealed_at", lastCommit = "last_commit", sealedLSN = "sealed_lsn", lagSeconds = "lag_seconds"
        }
    }

    public struct ProfileResult: Codable, Sendable {
        public let profile: String
        public var status: String  // ok, late, missing, failed, unattested, lagging
        public var problem: String?
        public let archive: String?
        public let ageSeconds: Double?
        public let bytes: Int64?
        public let rows: [String: Int]
        public let lastSuccess: Double?
        /// Per required level: when the newest believed attestation was made (RFC 3339), and by whom.
        public var lastVerified: [String: VerifiedBy] = [:]
        /// With `maxLag`: the profile's change segments.
        public var changes: Changes?

        public struct VerifiedBy: Codable, Sendable {
            package let at: String
            package let verifier: String
            package let archive: String
        }

        enum CodingKeys: String, CodingKey {
            case profile, status, problem, archive, bytes, rows, changes
            case lastVerified = "last_verified"
            case ageSeconds = "age_seconds"
            case lastSuccess = "last_success"
        }
    }

    public struct Result: Codable, Sendable {
        public var profiles: [ProfileResult] = []
        public var seconds: Double = 0
        public var ok: Bool { profiles.allSatisfy { $0.status == "ok" } && !profiles.isEmpty }
    }

    package static func run(_ request: Request) throws -> Result {
        let started = Date()
        let store = try openStore(request.store, settings: request.storeSettings)
        let catalog = try ArchiveCatalog.scan(store, profile: request.profile, signers: request.policy.signers)
        // A profile whose archives all fail to verify is missing, not forgotten.
        var names = Set(catalog.sealed.map(\.profile)).union(catalog.unverified.map(\.profile)).union(catalog.incomplete.map(\.profile))
        if let profile = request.profile { names = [profile] }
        var result = Result()
        for name in names.sorted() {
            guard let newest = catalog.sealed.first(where: { $0.profile == name }) else {
                let unverified = catalog.unverified.filter { $0.profile == name }.count
                let problem = "no sealed archive of profile \(name) in \(request.store)"
                    + (unverified > 0 ? " (\(unverified) whose seal does not verify)" : "")
                result.profiles.append(ProfileResult(profile: name, status: "missing", problem: problem,
                                                     archive: nil, ageSeconds: nil, bytes: nil, rows: [:], lastSuccess: nil))
                continue
            }
            let created = ISO8601DateFormatter().date(from: newest.createdAt) ?? .distantPast
            let age = request.now.timeIntervalSince(created)
            var status = "ok"
            var problem: String?
            // Whatever stops the verification, the metrics and alerts must say so: a monitor
            // that dies leaves yesterday's "ok" in place.
            let verification: VerificationReport
            do {
                var verifying = VerificationRequest(archive: newest.location, level: request.level, policy: request.policy, keys: request.keys)
                verifying.storeSettings = request.storeSettings
                verification = try Verifier.run(verifying)
            } catch {
                var failed = VerificationReport(archive: newest.location, level: request.level)
                failed.fail("verification", "could not run: \(error)")
                verification = failed
            }
            if !verification.ok {
                status = "failed"
                problem = "the newest archive \(newest.location) fails verification at level \(request.level.rawValue): "
                    + verification.failures.map(\.description).joined(separator: "; ")
            } else if age > request.maxAge {
                status = "late"
                problem = "the newest archive of \(name) is \(Self.duration(age)) old, more than the allowed \(Self.duration(request.maxAge)) (\(newest.location))"
            }
            var entry = ProfileResult(profile: name, status: status, problem: problem, archive: newest.location, ageSeconds: age,
                                      bytes: newest.bytes, rows: newest.rows, lastSuccess: created.timeIntervalSince1970)
            try checkRecordedVerifications(request, profile: name, catalog: catalog, store: store, into: &entry)
            if let maxLag = request.maxLag { checkChanges(request, maxLag: maxLag, profile: name, store: store, into: &entry) }
            result.profiles.append(entry)
        }
        result.seconds = Date().timeIntervalSince(started)
        return result
    }

    /// The newest believed attestation per required level, among those made within its span;
    /// a level without one makes the profile `unattested` (unless it is already worse).
    static func checkRecordedVerifications(_ request: Request, profile: String, catalog: ArchiveCatalog, store: ObjectStore,
                                           into entry: inout ProfileResult) throws {
        guard !request.requiredVerifications.isEmpty else { return }
        let listing = Set(try store.list(prefix: profile + "/").map(\.key))
        let sealed = Set(catalog.sealed.filter { $0.profile == profile }.map(\.key))
        let verifiers = request.verifiers ?? request.policy.signers
        var sealHashes: [String: String] = [:]
        for (level, within) in request.requiredVerifications {
            let cutoff = request.now.addingTimeInterval(-within)
            // Attestations of this profile's sealed archives, newest first by the time in their name.
            let candidates = listing.compactMap { key -> (time: Date, object: String, key: String)? in
                guard listing.contains(key + ".sig"), let object = Attestation.objectKey(ofDocument: key) else { return nil }
                guard sealed.contains(object), let time = ArchiveCatalog.time(fromName: String(key.dropFirst(object.count))).flatMap(StampFormat.date),
                      time >= cutoff else { return nil }
                return (time, object, key)
            }.sorted { $0.time > $1.time }
            var found: (Attestation, String)?
            for candidate in candidates {
                if sealHashes[candidate.object] == nil {
                    sealHashes[candidate.object] = (try? store.readSmall(key: candidate.object + ".seal")).map { SHA256Hasher.hash($0).hex } ?? ""
                }
                let record = SeriesReader.readAttestation(candidate.key, in: store, sealSHA256: sealHashes[candidate.object] ?? "",
                                                          object: String(candidate.object.split(separator: "/").last ?? ""), verifiers: verifiers)
                if record.trust == .verified, let attestation = record.attestation, attestation.verified,
                   let attested = VerificationReport.Level(rawValue: attestation.level), attested.strength >= level.strength,
                   let at = StampFormat.date(attestation.verifiedAt), at >= cutoff {
                    found = (attestation, store.location(of: candidate.object))
                    break
                }
            }
            if let (attestation, archive) = found {
                entry.lastVerified[level.rawValue] = .init(at: attestation.verifiedAt, verifier: attestation.verifier, archive: archive)
            } else if entry.status == "ok" {
                entry.status = "unattested"
                entry.problem = "no \(level.rawValue) verification of an archive of \(profile) recorded within \(Self.duration(within)) "
                    + "(run: pgseal verify --level \(level.rawValue) --attest-key KEY on an archive, and give its key to --trusted-verifier)"
            }
        }
    }

    /// The newest change segment of the profile, believed only when its seal verifies; older
    /// than `maxLag` (or none, or one that fails) makes the profile `lagging` or `failed`
    /// (unless it is already worse).
    static func checkChanges(_ request: Request, maxLag: TimeInterval, profile: String, store: ObjectStore, into entry: inout ProfileResult) {
        var problem: String?
        var status = "lagging"
        do {
            if let tip = try SegmentSeries.newest(in: store, profile: profile, signers: request.policy.signers) {
                let sealed = tip.range.sealedAt.flatMap(StampFormat.date) ?? ISO8601DateFormatter().date(from: tip.seal.createdAt)
                let lag = sealed.map { request.now.timeIntervalSince($0) }
                entry.changes = Changes(segment: store.location(of: tip.key), sealedAt: tip.range.sealedAt ?? tip.seal.createdAt,
                                        lastCommit: try tip.newestCommit(in: store, profile: profile, signers: request.policy.signers),
                                        sealedLSN: tip.range.toLSN, lagSeconds: lag.map { $0.rounded(.down) })
                if let lag, lag <= maxLag { return }
                problem = "the newest change segment of \(profile) was sealed \(lag.map(Self.duration) ?? "at an unknown time") ago, more than the allowed "
                    + "\(Self.duration(maxLag)): changes since are not protected — is pgseal follow running? (\(store.location(of: tip.key)))"
            } else {
                problem = "no change segment of \(profile) (pgseal follow has not sealed one) while --max-lag asks for one"
            }
        } catch {
            status = "failed"
            problem = "the newest change segment of \(profile) cannot be believed: \(error)"
        }
        if entry.status == "ok" || (status == "failed" && entry.status != "failed") {
            entry.status = status
            entry.problem = problem
        }
    }

    /// `90s`, `45m`, `26h`, `7d` → seconds.
    package static func parseDuration(_ text: String) -> TimeInterval? {
        guard let unit = text.last, let value = Double(text.dropLast()), value > 0 else { return nil }
        switch unit {
        case "s": return value
        case "m": return value * 60
        case "h": return value * 3600
        case "d": return value * 86400
        default: return nil
        }
    }

    /// A span as people read it, in the units `--max-age` takes: `45 s`, `12 min`, `25 h`,
    /// `25.5 h`, `3.2 d` (hours up to two days, so that 25 h is not "1.0 days").
    package static func duration(_ seconds: TimeInterval) -> String {
        func figure(_ value: Double) -> String {
            let text = String(format: "%.1f", value)
            return text.hasSuffix(".0") ? String(text.dropLast(2)) : text
        }
        if seconds < 120 { return "\(figure(seconds.rounded())) s" }
        if seconds < 7200 { return "\(figure((seconds / 60).rounded())) min" }
        if seconds < 172_800 { return "\(figure(seconds / 3600)) h" }
        return "\(figure(seconds / 86400)) d"
    }

    /// A commit time as change lines write it (six fractional digits).
    static func commitDate(_ text: String) -> Date? {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return formatter.date(from: text)
    }

    /// The Prometheus text format for node-exporter's textfile collector, written by
    /// swift-prometheus: profile and table names come from signed seals, which a compromised
    /// exporter writes, so label values are escaped as the exposition format says (a newline in
    /// a table name must not forge a sample line, nor make node_exporter reject the file).
    package static func metrics(_ result: Result) -> String {
        let registry = PrometheusCollectorRegistry()
        func family(_ name: String, _ help: String, _ samples: [(labels: [(String, String)], value: Double)]) {
            for sample in samples { registry.makeGauge(name: name, labels: sample.labels, help: help).set(to: sample.value) }
        }
        let profiles = result.profiles.map { (labels: [("profile", $0.profile)], result: $0) }
        family("pgseal_archive_ok", "1 when the newest sealed archive of the profile is fresh and verifies, else 0.",
               profiles.map { ($0.labels, $0.result.status == "ok" ? 1 : 0) })
        family("pgseal_archive_verified", "1 when the newest sealed archive of the profile passed verification, else 0.",
               profiles.map { ($0.labels, ["ok", "late", "unattested"].contains($0.result.status) ? 1 : 0) })
        family("pgseal_last_success_timestamp_seconds", "Creation time of the newest sealed archive (Unix seconds).",
               profiles.compactMap { p in p.result.lastSuccess.map { (p.labels, $0.rounded(.down)) } })
        family("pgseal_archive_age_seconds", "Age of the newest sealed archive.",
               profiles.compactMap { p in p.result.ageSeconds.map { (p.labels, $0.rounded(.down)) } })
        family("pgseal_archive_size_bytes", "Size of the newest sealed archive's object.",
               profiles.compactMap { p in p.result.bytes.map { (p.labels, Double($0)) } })
        family("pgseal_archive_rows", "Rows per table in the newest sealed archive, from its signed seal.",
               profiles.flatMap { p in p.result.rows.sorted { $0.key < $1.key }.map { (p.labels + [("table", $0.key)], Double($0.value)) } })
        family("pgseal_last_verified_timestamp_seconds", "When the newest believed attestation at the level was made (Unix seconds).",
               profiles.flatMap { p in p.result.lastVerified.sorted { $0.key < $1.key }.compactMap { level, by in
                   StampFormat.date(by.at).map { (p.labels + [("level", level)], $0.timeIntervalSince1970.rounded(.down)) } } })
        family("pgseal_changes_sealed_timestamp_seconds", "When the newest believed change segment of the profile was sealed (Unix seconds).",
               profiles.compactMap { p in p.result.changes?.sealedAt.flatMap(StampFormat.date).map { (p.labels, $0.timeIntervalSince1970.rounded(.down)) } })
        family("pgseal_changes_lag_seconds", "Now minus when the newest believed change segment was sealed: the recovery point.",
               profiles.compactMap { p in p.result.changes?.lagSeconds.map { (p.labels, $0) } })
        family("pgseal_changes_last_commit_timestamp_seconds", "The newest commit the profile's change segments hold (Unix seconds).",
               profiles.compactMap { p in p.result.changes?.lastCommit.flatMap(Self.commitDate).map { (p.labels, $0.timeIntervalSince1970.rounded(.down)) } })
        family("pgseal_check_duration_seconds", "How long the check took.", [([], (result.seconds * 1000).rounded() / 1000)])
        return registry.emitToString()
    }
}
