import Foundation

/// `<object>.attestation.<YYYYMMDDTHHMMSSZ>-<level>.json`: a verification's result, signed by the
/// verifier (`.json.sig`, SSHSIG namespace `pgseal-attestation`), so that "restore-verified on D
/// by K" is a fact others can check. Bound to one seal by its SHA-256. (docs/FORMAT.md, "Attestations".)
package struct Attestation: Codable, Sendable, Equatable {
    package static let formatIdentifier = "pgseal-attestation/1"
    package static let signatureNamespace = "pgseal-attestation"
    /// The key infix between the object's key and the attestation's time.
    package static let keyInfix = ".attestation."

    /// A table whose digest the verifier checked: as the seal lists it.
    package typealias Table = SealDocument.Table

    package var format: String
    package var object: String
    package var sealSHA256: String
    /// `seal`, `deep` or `restore`.
    package var level: String
    /// `verified` or `failed`.
    package var result: String
    package var verifiedAt: String
    package var durationSeconds: Double
    package var tool: String
    /// The fingerprint of the key that signed this attestation.
    package var verifier: String
    /// The object's SHA-256 as the verifier computed it (absent when it could not read it).
    package var objectSHA256: String?
    /// The tables whose digests the verifier checked (deep and restore levels).
    package var tables: [Table]
    /// Each failure, `location: problem`.
    package var failures: [String]

    package var verified: Bool { result == "verified" }

    package init(object: String, sealSHA256: String, level: String, verified: Bool, verifiedAt: String, durationSeconds: Double,
                tool: String, verifier: String, objectSHA256: String?, tables: [Table], failures: [String]) {
        self.format = Self.formatIdentifier
        self.object = object
        self.sealSHA256 = sealSHA256
        self.level = level
        self.result = verified ? "verified" : "failed"
        self.verifiedAt = verifiedAt
        self.durationSeconds = durationSeconds
        self.tool = tool
        self.verifier = verifier
        self.objectSHA256 = objectSHA256
        self.tables = tables
        self.failures = failures
    }

    enum CodingKeys: String, CodingKey {
        case format, object, level, result, tool, verifier, tables, failures
        case sealSHA256 = "seal_sha256"
        case verifiedAt = "verified_at"
        case durationSeconds = "duration_seconds"
        case objectSHA256 = "object_sha256"
    }

    /// The key of the archive an attestation's document sits beside, from the document's key
    /// (`….attestation.<time>-<level>.json`); nil for any other key.
    package static func objectKey(ofDocument key: String) -> String? {
        guard key.hasSuffix(".json"), let range = key.range(of: keyInfix, options: .backwards) else { return nil }
        return String(key[..<range.lowerBound])
    }

    /// `<object key>.attestation.20261202T220000Z-restore.json`.
    package static func key(forObject objectKey: String, verifiedAt: Date, level: String) -> String {
        objectKey + keyInfix + StampFormat.compact(verifiedAt) + "-" + level + ".json"
    }

    package func encoded() throws -> [UInt8] { try DocumentJSON.encoded(self) }

    /// Parses signed bytes; what a signer may still get wrong (a level or result outside the
    /// vocabulary, an unparsable time) is refused here rather than believed.
    package static func decode(_ bytes: [UInt8]) throws -> Attestation {
        let attestation: Attestation
        do { attestation = try JSONDecoder().decode(Attestation.self, from: Data(bytes)) } catch {
            throw DocumentError(document: "attestation", reason: "not the JSON of one: \(error)")
        }
        guard attestation.format == formatIdentifier else {
            throw DocumentError(document: "attestation", reason: "it declares format \(attestation.format), not \(formatIdentifier)")
        }
        guard ["seal", "deep", "restore"].contains(attestation.level), ["verified", "failed"].contains(attestation.result),
              StampFormat.date(attestation.verifiedAt) != nil, attestation.durationSeconds.isFinite, attestation.durationSeconds >= 0 else {
            throw DocumentError(document: "attestation", reason: "its level, result, time or duration is not one pgseal writes")
        }
        return attestation
    }
}

/// `<object>.tombstone`: what `pgseal prune` leaves when it removes an archive's object under
/// retention — the seal and its signature stay beside it, so the series stays verifiable. This
/// note itself is not signed: it is the pruner's account of when and why, which the report
/// shows as such.
package struct Tombstone: Codable, Sendable, Equatable {
    package static let formatIdentifier = "pgseal-tombstone/1"
    package static let suffix = ".tombstone"

    package var format: String
    package var object: String
    package var sealSHA256: String
    package var removedAt: String
    package var reason: String
    package var tool: String

    package init(object: String, sealSHA256: String, removedAt: String, reason: String, tool: String) {
        self.format = Self.formatIdentifier
        self.object = object
        self.sealSHA256 = sealSHA256
        self.removedAt = removedAt
        self.reason = reason
        self.tool = tool
    }

    enum CodingKeys: String, CodingKey {
        case format, object, reason, tool
        case sealSHA256 = "seal_sha256"
        case removedAt = "removed_at"
    }

    package func encoded() throws -> [UInt8] { try DocumentJSON.encoded(self) }

    package static func decode(_ bytes: [UInt8]) throws -> Tombstone {
        let tombstone: Tombstone
        do { tombstone = try JSONDecoder().decode(Tombstone.self, from: Data(bytes)) } catch {
            throw DocumentError(document: "tombstone note", reason: "not the JSON of one: \(error)")
        }
        guard tombstone.format == formatIdentifier, StampFormat.date(tombstone.removedAt) != nil else {
            throw DocumentError(document: "tombstone note", reason: "its format or time is not one pgseal writes")
        }
        return tombstone
    }
}

/// A small document beside an archive (an attestation, a tombstone note) that cannot be
/// believed as one: named, with why.
package struct DocumentError: Error, CustomStringConvertible {
    package let document: String
    package let reason: String

    package var description: String { "the \(document) cannot be read: \(reason)" }
}

/// The two forms of a UTC time pgseal writes: RFC 3339 in documents, compact in names.
package enum StampFormat {
    package static func rfc3339(_ date: Date) -> String {
        formatter("yyyy-MM-dd'T'HH:mm:ss'Z'").string(from: date)
    }

    package static func compact(_ date: Date) -> String {
        formatter("yyyyMMdd'T'HHmmss'Z'").string(from: date)
    }

    /// `2026-12-02T22:00:00Z` (fractions of a second accepted) → a date; nil for anything else.
    package static func date(_ text: String) -> Date? {
        guard text.utf8.count <= 40 else { return nil }
        let plain = ISO8601DateFormatter()
        if let date = plain.date(from: text) { return date }
        let fractional = ISO8601DateFormatter()
        fractional.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return fractional.date(from: text)
    }

    private static func formatter(_ pattern: String) -> DateFormatter {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = pattern
        return formatter
    }
}
