import Configuration

/// What the settings of every command share: one layer per source, values keyed as in the
/// config file.
extension Dictionary where Key == AbsoluteConfigKey, Value == ConfigValue {
    /// Sets `key` when `content` is given: nil means this layer has no say.
    package mutating func set(_ key: String, _ content: ConfigContent?, secret: Bool = false) {
        if let content { self[AbsoluteConfigKey([key])] = ConfigValue(content, isSecret: secret) }
    }
}

package enum ConfigLayers {
    /// `PGSEAL_…` variables; an empty variable counts as unset, as shells and container specs
    /// often leave them.
    package static func environment(_ environment: [String: String]) -> any ConfigProvider {
        EnvironmentVariablesProvider(environmentVariables: environment.filter { !$0.value.isEmpty }).prefixKeys(with: "pgseal")
    }
}
