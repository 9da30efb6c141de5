import DaemonSettings
import JourneyCore

extension ConfigReader {
    /// The most paths `personas.from` may list: each costs a lookup in every event.
    static let maxPersonaPaths = 8

    /// `personas:` — where an event's persona comes from, and the persona before any
    /// (docs/configuration.md). Without `from`, no event carries one and everyone has the
    /// default persona.
    func readPersonas(_ field: Field?) -> PersonaSettings {
        var settings = PersonaSettings()
        guard let section = section(field, named: "personas", knownKeys: ["from", "default"]) else { return settings }
        if let fromField = section["from"], !fromField.isNull {
            let shape = "such as [traits.persona, context.traits.persona, properties.persona]"
            let items: [Field]
            if case .scalar = fromField.node {
                items = [fromField]  // one path written without brackets
            } else {
                items = list(fromField, of: "dotted paths into the event", shape: shape) ?? []
            }
            if items.count > Self.maxPersonaPaths {
                report(
                    "lists \(items.count) paths; at most \(Self.maxPersonaPaths) are looked up in every event",
                    at: fromField)
            }
            for item in items.prefix(Self.maxPersonaPaths) {
                guard let path = text(item, expecting: "a dotted path such as traits.persona").value else { continue }
                let names = path.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
                guard names.allSatisfy({ !$0.isEmpty }) else {
                    report(
                        "\(Self.quoted(path)) is not a dotted path: member names separated by single dots, "
                            + "such as traits.persona", at: item)
                    continue
                }
                settings.paths.append(names)
            }
            if case .sequence(let sequence) = fromField.node, sequence.isEmpty {
                report("lists no path; write at least one, such as [traits.persona]", at: fromField)
            }
        }
        if let defaultField = section["default"] {
            if let value = text(defaultField, expecting: "the persona of customers whose events carry none").value {
                if PersonaSettings.isValid(value), value != PersonaSettings.all {
                    settings.defaultPersona = value
                } else {
                    report(
                        "must be 1 to \(PersonaSettings.maxLength) characters and not \(PersonaSettings.all) "
                            + "(which stands for every persona in the views)", at: defaultField)
                }
            }
        }
        return settings
    }
}
