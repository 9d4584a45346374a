extension Dictionary where Key == String, Value == String {
    /// The value of the first of `names` that is set among the AWS tools' variables handed down
    /// in `StoreSettings`; an empty variable counts as unset, as shells and container specs
    /// often leave them.
    package func firstSet(_ names: String...) -> String? {
        names.lazy.compactMap { self[$0] }.first { !$0.isEmpty }
    }
}
