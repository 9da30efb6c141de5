/// The dotted path of a value in the configuration, as problems name it:
/// `journeys[0].stages[2].abandon_after`.
struct KeyPath: Sendable, Equatable, CustomStringConvertible {
    let description: String

    /// The document itself.
    static let root = KeyPath(description: "")

    func appending(key: String) -> KeyPath {
        KeyPath(description: description.isEmpty ? key : "\(description).\(key)")
    }

    func appending(index: Int) -> KeyPath {
        KeyPath(description: "\(description)[\(index)]")
    }
}
