/// SQL identifiers quoted for statements pgseal builds from catalog and profile names.
package enum SQL {
    package static func identifier(_ name: String) -> String {
        "\"" + name.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }

    package static func table(schema: String, name: String) -> String {
        identifier(schema) + "." + identifier(name)
    }
}
