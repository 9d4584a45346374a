import ByteStreams

public typealias IntegrityViolation = ByteStreams.IntegrityViolation

extension AgeError: IntegrityViolation {}
