/// An error that can mean "the thing checked is bad" — tampered, truncated, corrupted — as
/// opposed to "could not check it". The CLI exits with 1 when `isIntegrityFailure` and with 2
/// otherwise. Declared here, at the base, so that every layer's errors can say it.
public protocol IntegrityViolation: Error {
    var isIntegrityFailure: Bool { get }
}
