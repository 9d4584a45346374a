/// How one column's PostgreSQL text output becomes a canonical JSON value (docs/FORMAT.md,
/// "Canonical JSON row").
package enum ColumnEncoding: Sendable, Equatable, CustomStringConvertible {
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
    /// json and jsonb in `pgseal/1` archives: embedded as a JSON value with insignificant white
    /// space removed — which makes the JSON literal `null` one value with SQL NULL. Read only.
    case json
    /// json and jsonb (`pgseal/2`): a string holding PostgreSQL's exact text output (a json
    /// value's own text, white space and key order kept; a jsonb value as PostgreSQL
    /// normalises it), so that `'null'` is the string `"null"` and SQL NULL is `null`.
    case jsonText
    /// Arrays (`pgseal/2`), including `oidvector` and `int2vector`: a string holding
    /// PostgreSQL's exact array output, lower bounds (`[0:1]={…}`), dimensions and the element
    /// type's own delimiter kept.
    case arrayText
    /// Everything else: the PostgreSQL text output as a string.
    case text
    /// A PostgreSQL array of `element`, written as nested JSON arrays.
    case array(element: ElementEncoding, delimiter: UInt8)

    /// The encoding for a base type name as `pg_type.typname` spells it. Arrays are built by
    /// the caller from the element type's encoding and its `typdelim`.
    package init(baseTypeName name: String) {
        switch name {
        case "int2", "int4", "int8", "oid": self = .integer
        case "float4", "float8": self = .float
        case "numeric": self = .numeric
        case "bool": self = .boolean
        case "timestamptz": self = .timestamptz
        case "json", "jsonb": self = .jsonText
        default: self = .text
        }
    }

    /// The encoding of an array's elements (which are never arrays themselves).
    package var elementEncoding: ColumnEncoding? {
        if case .array(let element, _) = self { return element.columnEncoding }
        return nil
    }

    package var description: String {
        switch self {
        case .integer: "integer"
        case .float: "float"
        case .numeric: "numeric"
        case .boolean: "boolean"
        case .timestamptz: "timestamptz"
        case .json: "json"
        case .jsonText: "json-text"
        case .arrayText: "array-text"
        case .text: "text"
        case .array(let element, _): "array of \(element.columnEncoding)"
        }
    }
}

/// The scalar encodings an array element can have: kept apart from `ColumnEncoding` so that
/// neither enum is recursive (`indirect`), which would cost reference counting per value.
package enum ElementEncoding: Sendable, Equatable {
    case integer, float, numeric, boolean, timestamptz, json, text

    package init(baseTypeName name: String) {
        switch ColumnEncoding(baseTypeName: name) {
        case .integer: self = .integer
        case .float: self = .float
        case .numeric: self = .numeric
        case .boolean: self = .boolean
        case .timestamptz: self = .timestamptz
        case .json, .jsonText: self = .json
        case .text, .array, .arrayText: self = .text
        }
    }

    package var columnEncoding: ColumnEncoding {
        switch self {
        case .integer: .integer
        case .float: .float
        case .numeric: .numeric
        case .boolean: .boolean
        case .timestamptz: .timestamptz
        case .json: .json
        case .text: .text
        }
    }
}
