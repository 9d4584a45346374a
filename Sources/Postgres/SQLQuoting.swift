/// SQL identifiers quoted for statements pgseal builds from catalog and profile names.
public enum SQL {
    public static func identifier(_ name: String) -> String {
        "\"" + name.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }

    public static func table(schema: String, name: String) -> String {
        identifier(schema) + "." + identifier(name)
    }
}
