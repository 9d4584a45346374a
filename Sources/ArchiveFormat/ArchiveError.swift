import ByteStreams
/// An error from libarchive, or from the stream it was reading or writing.
package struct ArchiveError: Error, CustomStringConvertible, IntegrityViolation {
    /// Exit 1 when what failed beneath was the archive's integrity (a seal's bound, an age
    /// chunk), not a store or a key.
    package var isIntegrityFailure: Bool {
        (underlying as? IntegrityViolation)?.isIntegrityFailure ?? false
    }

    package let operation: String
    package let message: String
    /// The error of the sink or source beneath, when that is what failed.
    package let underlying: Error?

    package init(operation: String, message: String, underlying: Error? = nil) {
        self.operation = operation
        self.message = message
        self.underlying = underlying
    }

    package var description: String {
        if let underlying { return "\(underlying)" }
        return "\(operation): \(message)"
    }
}
