import Foundation

/// JSON from the system under test, read without traps: a lookup that does not hold throws an
/// error naming the path, so that the test fails and the run goes on (a trap would stop every
/// remaining test and leave the servers running).
public struct JSONDocument: CustomStringConvertible {
    public let value: Any?
    public let path: String

    public init(data: Data) throws {
        value = try JSONSerialization.jsonObject(with: data, options: [.fragmentsAllowed])
        path = "$"
    }

    public init(file: String) throws {
        try self.init(data: try Data(contentsOf: URL(fileURLWithPath: file)))
    }

    init(value: Any?, path: String) {
        self.value = value
        self.path = path
    }

    public subscript(key: String) -> JSONDocument {
        JSONDocument(value: (value as? [String: Any])?[key], path: path + "." + key)
    }

    public var description: String { "\(path): \(value.map { "\($0)" } ?? "absent")" }

    private func typed<T>(_ type: T.Type) throws -> T {
        guard let typed = value as? T else { throw TestSetupError("\(path) is not a \(T.self): \(value.map { "\($0)" } ?? "absent")") }
        return typed
    }

    public func string() throws -> String { try typed(String.self) }
    public func int() throws -> Int { try typed(Int.self) }
    public func strings() throws -> [String] { try typed([String].self) }
    public func bool() throws -> Bool { try typed(Bool.self) }
    public func double() throws -> Double { try typed(NSNumber.self).doubleValue }

    public func array() throws -> [JSONDocument] {
        try typed([Any].self).enumerated().map { JSONDocument(value: $1, path: "\(path)[\($0)]") }
    }

    /// The objects of an array, by the string under `key` of each.
    public func keyed(by key: String) throws -> [String: JSONDocument] {
        var result: [String: JSONDocument] = [:]
        for element in try array() { result[try element[key].string()] = element }
        return result
    }
}

/// The size of the file at `path`, or an error saying why there is none.
public func fileSize(_ path: String) throws -> Int {
    guard let size = try FileManager.default.attributesOfItem(atPath: path)[.size] as? Int else {
        throw TestSetupError("no size for \(path)")
    }
    return size
}
