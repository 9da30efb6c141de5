/// The dotted path of a value in the configuration, as problems name it:
/// `journeys[0].stages[2].abandon_after`.
struct ConfigKeyPath: Sendable, Equatable, CustomStringConvertible {
    let description: String

    /// The document itself.
    static let root = ConfigKeyPath(description: "")

    func appending(key: String) -> ConfigKeyPath {
        // A key with a line break or control character is shown quoted and escaped, so a
        // problem stays one line of output.
        if key.unicodeScalars.contains(where: ConfigReader.breaksOutput) {
            return ConfigKeyPath(description: "\(description)[\(ConfigReader.quoted(key))]")
        }
        return ConfigKeyPath(description: description.isEmpty ? key : "\(description).\(key)")
    }

    func appending(index: Int) -> ConfigKeyPath {
        ConfigKeyPath(description: "\(description)[\(index)]")
    }
}
