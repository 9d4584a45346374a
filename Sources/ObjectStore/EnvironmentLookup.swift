extension Dictionary where Key == String, Value == String {
    /// The value of the first of `names` that is set; an empty variable counts as unset, as
    /// shells and container specs often leave them.
    package func firstSet(_ names: String...) -> String? {
        names.lazy.compactMap { self[$0] }.first { !$0.isEmpty }
    }
}

/// The extra CA certificates to trust, as `PGSEAL_CA_BUNDLE` or the AWS tools' `AWS_CA_BUNDLE` name them.
package func configuredCABundle(in environment: [String: String]) -> String? {
    environment.firstSet("PGSEAL_CA_BUNDLE", "AWS_CA_BUNDLE")
}
