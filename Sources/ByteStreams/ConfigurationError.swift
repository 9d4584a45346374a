/// A setting that cannot work as given — a missing destination, an unknown profile, a key
/// column not exported — named with what to change (exit 2).
public struct ConfigurationError: Error, CustomStringConvertible {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
