extension ColumnEncoding {
    /// The name the manifest records (`integer`, …, `array:text`).
    package var manifestName: String {
        switch self {
        case .array(let element, _): "array:" + element.columnEncoding.description
        default: description
        }
    }

    /// Reads a manifest's encoding name back; arrays use `,` as their delimiter.
    package init?(manifestName name: String) {
        if name.hasPrefix("array:") {
            guard let element = ColumnEncoding(manifestName: String(name.dropFirst(6))), element.elementEncoding == nil,
                  case let scalar = ElementEncoding(baseTypeName: element.baseTypeName)
            else { return nil }
            self = .array(element: scalar, delimiter: UInt8(ascii: ","))
            return
        }
        let all: [ColumnEncoding] = [.integer, .float, .numeric, .boolean, .timestamptz, .json, .jsonText, .arrayText, .text]
        guard let found = all.first(where: { $0.description == name }) else { return nil }
        self = found
    }

    /// A base type name that maps back to this encoding.
    var baseTypeName: String {
        switch self {
        case .integer: "int8"
        case .float: "float8"
        case .numeric: "numeric"
        case .boolean: "bool"
        case .timestamptz: "timestamptz"
        case .json, .jsonText: "jsonb"
        case .text, .array, .arrayText: "text"
        }
    }
}
