/// How one column's PostgreSQL text output becomes a canonical JSON value (docs/FORMAT.md,
/// "Canonical JSON row").
public indirect enum ColumnEncoding: Sendable, Equatable, CustomStringConvertible {
    /// Integer types: the text is already a JSON number.
    case integer
    /// float4/float8: shortest round-trip text (PostgreSQL ≥ 12 with extra_float_digits > 0);
    /// NaN and ±Infinity become strings.
    case float
    /// numeric: a string holding the exact text, so that no reader loses precision.
    case numeric
    case boolean
    /// timestamptz: RFC 3339 in UTC, `Z` suffix; ±infinity as strings.
    case timestamptz
    /// json and jsonb: embedded as a JSON value with insignificant white space removed.
    case json
    /// Everything else: the PostgreSQL text output as a string.
    case text
    /// A PostgreSQL array of `element`, written as nested JSON arrays.
    case array(element: ColumnEncoding, delimiter: UInt8)

    /// The encoding for a base type name as `pg_type.typname` spells it. Arrays are built by
    /// the caller from the element type's encoding and its `typdelim`.
    public init(baseTypeName name: String) {
        switch name {
        case "int2", "int4", "int8", "oid": self = .integer
        case "float4", "float8": self = .float
        case "numeric": self = .numeric
        case "bool": self = .boolean
        case "timestamptz": self = .timestamptz
        case "json", "jsonb": self = .json
        default: self = .text
        }
    }

    public var description: String {
        switch self {
        case .integer: "integer"
        case .float: "float"
        case .numeric: "numeric"
        case .boolean: "boolean"
        case .timestamptz: "timestamptz"
        case .json: "json"
        case .text: "text"
        case .array(let element, _): "array of \(element)"
        }
    }
}
