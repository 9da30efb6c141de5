/// The dotted path of a value in the configuration, as problems name it:
/// `journeys[0].stages[2].abandon_after`.
struct ConfigKeyPath: Sendable, Equatable, CustomStringConvertible {
    let description: String

    /// The document itself.
    static let root = ConfigKeyPath(description: "")

    func appending(key: String) -> ConfigKeyPath {
        ConfigKeyPath(description: description.isEmpty ? key : "\(description).\(key)")
    }

    func appending(index: Int) -> ConfigKeyPath {
        ConfigKeyPath(description: "\(description)[\(index)]")
    }
}
