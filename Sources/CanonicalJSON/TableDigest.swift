import Cryptography

/// Row hashes and the table digest of docs/FORMAT.md: a row hash is the SHA-256 of the
/// line's bytes without its newline; the table digest is the SHA-256 over the row hashes in
/// key order, each written as 64 lowercase hex characters and a newline — so that
/// `while read -r l; do printf %s "$l" | sha256sum; done | cut -c1-64 | sha256sum` gives it too.
package final class TableDigest {
    private let rowHasher = ShortMessageHasher()
    private let tableHasher = SHA256Hasher()
    private var hexLine = [UInt8](repeating: UInt8(ascii: "\n"), count: 65)
    package private(set) var rows = 0

    package init() {}

    /// Hashes one row, folds its hash into the table digest and returns it.
    @discardableResult
    package func add(row line: UnsafeRawBufferPointer) -> Digest {
        let digest = rowHasher.hash(line)
        add(rowHash: digest)
        return digest
    }

    package func add(rowHash digest: Digest) {
        hexLine.withUnsafeMutableBytes { buffer in
            digest.writeHex(to: buffer.baseAddress!)
            tableHasher.update(UnsafeRawBufferPointer(buffer))
        }
        rows += 1
    }

    /// The digest of all rows added; the accumulator starts again empty.
    package func finalize() -> Digest {
        rows = 0
        return tableHasher.finalize()
    }
}
