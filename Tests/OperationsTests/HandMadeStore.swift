import ArchiveFormat
import Cryptography
import Foundation
import ObjectStore
import TestSupport

/// A local store of hand-made archives (an object of six bytes, its seal and signature) with
/// the clock held still, for the tests of retention and freshness decisions.
final class HandMadeStore {
    let directory: TemporaryDirectory
    let store: LocalStore
    let key: SSHSigningKey
    var signers = AllowedSigners()
    let now = ISO8601DateFormatter().date(from: "2026-12-02T12:00:00Z") ?? Date()

    init() throws {
        directory = try TemporaryDirectory()
        store = try LocalStore(root: directory.path)
        key = try SSHSigningKey.generate(comment: "nightly")
        try signers.add(text: "nightly " + key.publicKey.line(), origin: "test")
    }

    /// An archive created `age` seconds before `now`: the object, and unless `sealed` is false,
    /// its seal and signature.
    @discardableResult
    func archive(age: TimeInterval, sealed: Bool = true, profile: String = "p", chain: SealChain? = nil,
                 signedBy signer: SSHSigningKey? = nil, rows: [String: Int] = [:]) throws -> String {
        let created = now.addingTimeInterval(-age)
        let stamp = DateFormatter()
        stamp.locale = Locale(identifier: "en_US_POSIX")
        stamp.timeZone = TimeZone(identifier: "UTC")
        stamp.dateFormat = "yyyyMMdd'T'HHmmss'Z'"
        let name = "\(profile)-\(stamp.string(from: created)).tar.zst"
        let key = "\(profile)/\(name)"
        try store.put(key: key, contents: Array("object".utf8))
        guard sealed else { return key }
        let seal = SealDocument(object: name, size: 6, sha256: SHA256Hasher.hash(Array("object".utf8)).hex, manifestSHA256: "",
                                createdAt: ISO8601DateFormatter().string(from: created), profile: profile, encryption: "none",
                                recipients: [], compression: "zstd", snapshot: "", walLSN: "",
                                tables: rows.sorted { $0.key < $1.key }.map { .init(name: $0.key, rows: $0.value, digest: String(repeating: "0", count: 64)) },
                                signer: (signer ?? self.key).publicKey.fingerprint, tool: "test")
        var chained = seal
        chained.chain = chain
        let bytes = try chained.encoded()
        try store.put(key: key + ".seal", contents: bytes)
        try store.put(key: key + ".seal.sig", contents: Array(try SSHSignature.sign(bytes, namespace: "pgseal", key: signer ?? self.key).utf8))
        return key
    }

    /// The link to `key`'s seal as it is stored now.
    func link(to key: String) throws -> SealChain {
        let object = String(key.split(separator: "/").last ?? "")
        return SealChain(previous: .init(object: object, sealSHA256: SHA256Hasher.hash(try store.readSmall(key: key + ".seal")).hex))
    }
}
