/// An error that can mean "the thing checked is bad" — tampered, truncated, corrupted — as
/// opposed to "could not check it". The CLI exits with 1 when `isIntegrityFailure` and with 2
/// otherwise.
public protocol IntegrityViolation: Error {
    var isIntegrityFailure: Bool { get }
}

extension AgeError: IntegrityViolation {}
