/// Where a customer's persona comes from (`personas:` in the configuration, docs/semantics.md).
///
/// The decoder reads the value at the first of ``paths`` an event carries; the engine keeps,
/// per customer, the value of their latest event (by `ts`) that carried one, and gives each
/// new instance the customer's persona at its entry.
public struct PersonaSettings: Sendable, Equatable {
    /// The persona of a customer none of whose events carried one yet.
    public static let standardDefault = "unknown"
    /// The longest persona value taken, in characters (Unicode scalars, as PostgreSQL's
    /// `char_length` counts them).
    public static let maxLength = 64
    /// The persona column's value on rows that count every instance, whatever its persona.
    public static let all = "*"

    /// Dotted paths into the event's JSON object, each split into its member names, in
    /// precedence order. Empty: no event carries a persona, everyone has ``defaultPersona``.
    public var paths: [[String]]
    /// The persona before any event carried one.
    public var defaultPersona: String

    public init(paths: [[String]] = [], defaultPersona: String = PersonaSettings.standardDefault) {
        self.paths = paths
        self.defaultPersona = defaultPersona
    }

    /// Whether `value` can be a persona: 1 to ``maxLength`` characters.
    public static func isValid(_ value: String) -> Bool {
        var count = 0
        for _ in value.unicodeScalars {
            count += 1
            if count > maxLength { return false }
        }
        return count > 0
    }
}

/// The personas the engine has met, numbered from 0 (the default persona) in order of first
/// appearance, so that customers, instances and running totals hold a small number instead of
/// a string. The numbers live in memory only; the store keeps the names.
struct PersonaTable {
    private var codes: [String: Int32] = [:]
    private(set) var names: [String] = []

    init(defaultPersona: String) {
        _ = code(of: defaultPersona)
    }

    /// The number of `name`, numbering it if it is new.
    mutating func code(of name: String) -> Int32 {
        if let code = codes[name] { return code }
        let code = Int32(names.count)
        names.append(name)
        codes[name] = code
        return code
    }

    func name(_ code: Int32) -> String { names[Int(code)] }

    var count: Int { names.count }
}
