import ArchiveFormat
import Cryptography
import Display
import Foundation

/// The secret that binds a partitioned export's parts to it (docs/SECURITY.md, "Partitioned
/// exports"). The store is no channel between the coordinator and its workers: anyone who can
/// write it could copy an older export's part and receipt under the new part's name. Each worker
/// therefore authenticates its receipt with HMAC-SHA-256 under this key, over the receipt and
/// what identifies the export — archive, profile, snapshot, creation time, part — and the
/// coordinator seals only receipts whose tag it can recompute from its own plan. The key
/// reaches workers outside the store: through a pipe from a coordinator that starts them, from a
/// file or secret (`--partition-key-file`, `PGSEAL_PARTITION_KEY`) for workers started elsewhere.
public struct PartitionKey: Sendable {
    let secret: [UInt8]

    /// A fresh key for one export (32 random bytes).
    public static func random() -> PartitionKey { PartitionKey(secret: Crypto.randomBytes(32)) }

    private init(secret: [UInt8]) { self.secret = secret }

    /// From its text form: 64 hexadecimal digits (as `openssl rand -hex 32` writes), spaces and
    /// newlines around them ignored.
    public init(text: String, origin: String) throws {
        let hex = text.trimmingCharacters(in: .whitespacesAndNewlines)
        guard hex.utf8.count == 64, let bytes = HexDigits.decode(hex) else {
            throw ExportError.partition("\(origin) does not hold a partition key: 64 hexadecimal digits are expected (make one with: openssl rand -hex 32)")
        }
        self.secret = bytes
    }

    /// The key as 64 hexadecimal digits, for handing to a worker.
    public var text: String { HexDigits.encode(secret) }

    /// The tag of `receipt` (its document bytes) as part `index` of `plan`.
    func tag(receipt: [UInt8], part index: Int, of plan: PartitionPlan) throws -> String {
        let context = "\(PartReceipt.formatIdentifier)\narchive \(plan.archive)\nprofile \(plan.profile)\nsnapshot \(plan.source.snapshot)\n"
            + "created_at \(plan.createdAt)\npart \(index + 1) of \(plan.parts.count)\n"
        return HexDigits.encode(try Crypto.hmacSHA256(key: secret, message: Array(context.utf8) + receipt))
    }
}

/// `<part object>.receipt`: what a worker wrote (a `SealPart`) and its tag under the export's
/// partition key, for the coordinator to seal.
public struct PartReceipt: Codable, Sendable {
    public static let suffix = ".receipt"
    public static let formatIdentifier = "pgseal-part-receipt/2"
    public static let sizeLimit = 1 << 20

    public var format = formatIdentifier
    public var receipt: SealPart
    public var hmacSHA256: String

    enum CodingKeys: String, CodingKey {
        case format, receipt
        case hmacSHA256 = "hmac_sha256"
    }

    /// A worker's receipt for part `index`, tagged.
    package static func tagged(_ receipt: SealPart, part index: Int, of plan: PartitionPlan, key: PartitionKey) throws -> PartReceipt {
        PartReceipt(receipt: receipt, hmacSHA256: try key.tag(receipt: try DocumentJSON.encoded(receipt), part: index, of: plan))
    }

    /// The receipt as the coordinator must read it: bounded, of this format, its tag recomputed
    /// from the coordinator's own plan and compared in constant time. A receipt copied from
    /// another export (another snapshot, profile, archive or part) or written without the key is
    /// refused by name.
    package static func authenticated(_ bytes: [UInt8], part index: Int, of plan: PartitionPlan, key: PartitionKey, location: String) throws -> SealPart {
        let document: PartReceipt
        do { document = try JSONDecoder().decode(PartReceipt.self, from: Data(bytes)) } catch {
            throw ExportError.partition("the receipt \(location) cannot be read as a \(formatIdentifier) document: \(error)")
        }
        guard document.format == formatIdentifier else {
            throw ExportError.partition("the receipt \(location) declares format \(Terminal.escaped(document.format)), not \(formatIdentifier)")
        }
        let expected = try key.tag(receipt: try DocumentJSON.encoded(document.receipt), part: index, of: plan)
        guard Crypto.constantTimeEqual(Array(expected.utf8), Array(document.hmacSHA256.utf8)) else {
            throw ExportError.partition("the receipt \(location) is not authenticated by this export's partition key: it was not written by a worker of this export and snapshot (a copy from another export, or written by someone who can write the store but has not the key); nothing was sealed")
        }
        return document.receipt
    }
}
