import ArchiveFormat
import Cryptography
import ObjectStore

/// What a new seal links to: the newest complete seal (one with its `.seal.sig`) of the same
/// profile in the same store — by key, and keys sort by time. Its bytes are hashed as stored,
/// not judged: whether the link leads to a seal worth believing is for the series' readers,
/// who hold the trusted keys (docs/FORMAT.md, "The series").
enum SeriesTip {
    static func link(in store: ObjectStore, profile: String, excluding objectKey: String) throws -> SealChain.Link? {
        do { return try newest(in: store, profile: profile, excluding: objectKey) } catch {
            throw ExportError.seriesLookup(store.location(of: profile + "/"), underlying: error)
        }
    }

    private static func newest(in store: ObjectStore, profile: String, excluding objectKey: String) throws -> SealChain.Link? {
        let keys = try store.list(prefix: profile + "/").map(\.key).filter { !SegmentNaming.isSegmentKey($0) }
        let present = Set(keys)
        let own = objectKey + ".seal"
        guard let newest = keys.filter({ $0.hasSuffix(".seal") && $0 != own && present.contains($0 + ".sig") }).max() else { return nil }
        let source = HashingSource(try store.open(key: newest))
        let digest = try source.finish()
        let object = String(newest.dropLast(".seal".count).split(separator: "/").last ?? "")
        return SealChain.Link(object: object, sealSHA256: digest.hex)
    }
}
