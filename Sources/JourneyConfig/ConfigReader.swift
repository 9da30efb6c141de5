import JourneyCore
import Yams

/// A value found under a key, with the path that names it in problems.
struct Field {
    let node: Node
    let path: ConfigKeyPath
    /// Where the key of this value is; nil for list items and the document root.
    var keyMark: Mark? = nil

    /// Where problems with this value point: the value itself when it starts on its key's
    /// line (scalars, flow lists), else the key (a block list or mapping starts a line later,
    /// and the operator looks for the key).
    var location: Mark? {
        guard let keyMark, let valueMark = node.mark else { return node.mark ?? keyMark }
        return valueMark.line == keyMark.line ? valueMark : keyMark
    }

    /// True for `key:` with nothing after it, `~` or `null`.
    var isNull: Bool {
        if case .scalar = node { return node.resolvedTag == .null }
        return false
    }
}

extension Node {
    /// The tag the resolver gave this node (`!!str` for quoted scalars, `!!int` for `42`...).
    var resolvedTag: Tag.Name { Tag.Name(rawValue: tag.rawValue) }
}

/// The outcome of reading one value. `invalid` means a problem was already reported, so
/// callers use a fallback only to keep validating, and skip cross-checks that need the value.
enum Parsed<Value> {
    case absent
    case invalid
    case valid(Value)

    /// The value, or `fallback` when it is absent or invalid.
    func or(_ fallback: Value) -> Value {
        if case .valid(let value) = self { return value }
        return fallback
    }

    /// The value for cross-checks: the valid value, `fallback` when absent, nil when invalid.
    func resolved(default fallback: Value) -> Value? {
        switch self {
        case .absent: return fallback
        case .invalid: return nil
        case .valid(let value): return value
        }
    }

    /// The value when valid, else nil.
    var value: Value? {
        if case .valid(let value) = self { return value }
        return nil
    }
}

/// The known keys of one mapping, each with its value; unknown keys were already reported.
struct MappingView {
    /// Where the mapping starts (problems about missing keys point here).
    let mark: Mark?
    let path: ConfigKeyPath
    fileprivate var fields: [String: Field] = [:]

    subscript(key: String) -> Field? { fields[key] }
}

/// Walks the YAML tree with typed accessors, collecting every problem instead of stopping at
/// the first, so `check-config` can list them all.
final class ConfigReader {
    let fileName: String
    private let renamedDuplicateKeys: [String: String]
    private(set) var problems: [ConfigurationProblem] = []

    init(fileName: String, renamedDuplicateKeys: [String: String] = [:]) {
        self.fileName = fileName
        self.renamedDuplicateKeys = renamedDuplicateKeys
    }

    // MARK: Reporting

    func report(_ message: String, line: Int, column: Int, path: ConfigKeyPath) {
        problems.append(
            ConfigurationProblem(
                file: fileName, line: line, column: column, keyPath: path.description, message: message))
    }

    func report(_ message: String, at mark: Mark?, path: ConfigKeyPath) {
        report(message, line: mark?.line ?? 1, column: mark?.column ?? 1, path: path)
    }

    func report(_ message: String, at field: Field) {
        report(message, at: field.location, path: field.path)
    }

    /// Reports a required key that is not there, at the start of the mapping that lacks it.
    func reportMissing(_ key: String, in mapping: MappingView, advice: String) {
        report("missing; \(advice)", at: mapping.mark, path: mapping.path.appending(key: key))
    }

    /// How a value reads in a message: `"3 days"`, `a list`, `a mapping`, `no value`.
    static func describe(_ node: Node) -> String {
        switch node {
        case .mapping: return "a mapping (key: value lines)"
        case .sequence: return "a list"
        case .alias: return "an alias"
        case .scalar(let scalar):
            if node.resolvedTag == .null { return "no value" }
            return quoted(scalar.string)
        }
    }

    /// `text` in double quotes, shortened when long, with control characters escaped.
    /// Control characters (C0, DEL, C1 such as NEL) and the Unicode line and paragraph
    /// separators: printed raw, they would break a problem's one line of output.
    static func breaksOutput(_ scalar: Unicode.Scalar) -> Bool {
        scalar.value < 0x20 || (0x7F...0x9F).contains(scalar.value) || scalar.value == 0x2028 || scalar.value == 0x2029
    }

    static func quoted(_ text: String) -> String {
        let shortened = text.unicodeScalars.count > 80 ? String(text.prefix(77)) + "..." : text
        var result = "\""
        for scalar in shortened.unicodeScalars {
            switch scalar {
            case "\"": result += "\\\""
            case "\\": result += "\\\\"
            case "\n": result += "\\n"
            case "\t": result += "\\t"
            default:
                if Self.breaksOutput(scalar) {
                    result += "\\u{\(String(scalar.value, radix: 16))}"
                } else {
                    result.unicodeScalars.append(scalar)
                }
            }
        }
        return result + "\""
    }

    // MARK: Structure

    /// The known keys of a mapping. Reports a value that is not a mapping, keys that are not
    /// text, keys written twice, and unknown keys (with the closest known key, or
    /// `misplacedAdvice`'s explanation for keys that belong elsewhere).
    func mapping(
        _ field: Field, expecting what: String, knownKeys: [String],
        misplacedAdvice: (String) -> String? = { _ in nil }
    ) -> MappingView? {
        guard case .mapping(let mapping) = field.node else {
            report("expected \(what), got \(Self.describe(field.node))", at: field)
            return nil
        }
        var view = MappingView(mark: mapping.mark, path: field.path)
        var repeatedKeyMarks: [String: [Mark]] = [:]
        var keyMarks: [String: Mark] = [:]
        for (keyNode, valueNode) in mapping {
            guard case .scalar(let keyScalar) = keyNode, keyNode.resolvedTag != .null else {
                report(
                    "a key must be plain text, got \(Self.describe(keyNode))",
                    at: keyNode.mark, path: field.path)
                continue
            }
            let key = keyScalar.string
            if let original = renamedDuplicateKeys[key] {
                if let mark = keyNode.mark { repeatedKeyMarks[original, default: []].append(mark) }
                continue
            }
            if let mark = keyNode.mark { keyMarks[key] = mark }
            let path = field.path.appending(key: key)
            if knownKeys.contains(key) {
                view.fields[key] = Field(node: valueNode, path: path, keyMark: keyNode.mark)
            } else if key == "<<" {
                report(
                    "YAML merge keys (<<) are not supported; write the keys out in full",
                    at: keyNode.mark, path: path)
            } else if let advice = misplacedAdvice(key) {
                report(advice, at: keyNode.mark, path: path)
            } else if let suggestion = Suggestion.closest(to: key, among: knownKeys) {
                report(
                    "unknown key \(Self.quoted(key)); did you mean \(Self.quoted(suggestion))?",
                    at: keyNode.mark, path: path)
            } else {
                report(
                    "unknown key \(Self.quoted(key)); the keys allowed here are "
                        + knownKeys.joined(separator: ", "), at: keyNode.mark, path: path)
            }
        }
        for (key, marks) in repeatedKeyMarks {
            let occurrences = (marks + [keyMarks[key]].compactMap { $0 })
                .sorted { ($0.line, $0.column) < ($1.line, $1.column) }
            guard let first = occurrences.first else { continue }
            for repetition in occurrences.dropFirst() {
                report(
                    "\(Self.quoted(key)) is already set at line \(first.line) of this mapping; "
                        + "write each key once and delete the repetition",
                    at: repetition, path: field.path.appending(key: key))
            }
        }
        return view
    }

    /// The items of a list, each with its indexed path. `shape` shows how to write it.
    func list(_ field: Field, of what: String, shape: String) -> [Field]? {
        guard case .sequence(let sequence) = field.node else {
            report("expected a list of \(what) (\(shape)), got \(Self.describe(field.node))", at: field)
            return nil
        }
        return sequence.enumerated().map { Field(node: $1, path: field.path.appending(index: $0)) }
    }

    // MARK: Scalars

    /// Text as written. Any plain scalar counts (`events: [404]` names the event "404"),
    /// because what the operator typed is what an event carries.
    func text(
        _ field: Field?, expecting what: String, allowEmpty: Bool = false, nullMeansAbsent: Bool = false
    ) -> Parsed<String> {
        guard let field else { return .absent }
        if field.isNull {
            if nullMeansAbsent { return .absent }
            report("has no value; expected \(what)", at: field)
            return .invalid
        }
        guard case .scalar(let scalar) = field.node else {
            report("expected \(what), got \(Self.describe(field.node))", at: field)
            return .invalid
        }
        if !allowEmpty, scalar.string.isEmpty {
            report("must not be empty; expected \(what)", at: field)
            return .invalid
        }
        return .valid(scalar.string)
    }

    /// `true` or `false` (YAML's other spellings of a boolean are refused: they read as
    /// words to people, `on` and `no` included).
    func boolean(_ field: Field?) -> Parsed<Bool> {
        guard let field else { return .absent }
        guard let written = text(field, expecting: "true or false").value else { return .invalid }
        switch written {
        case "true": return .valid(true)
        case "false": return .valid(false)
        default:
            report("expected true or false, got \(Self.quoted(written))", at: field)
            return .invalid
        }
    }

    /// A whole number written plainly (decimal, `_` allowed as a digit separator) in `range`.
    func integer(_ field: Field?, example: String, range: ClosedRange<Int>, rangeAdvice: String) -> Parsed<Int> {
        guard let field else { return .absent }
        guard let number = plainNumber(field, kind: "a whole number", example: example) else { return .invalid }
        guard let value = Int(number.filter { $0 != "_" }) else {
            report("expected a whole number such as \(example), got \(Self.quoted(number))", at: field)
            return .invalid
        }
        guard range.contains(value) else {
            report("\(value) is out of range; \(rangeAdvice)", at: field)
            return .invalid
        }
        return .valid(value)
    }

    /// A finite decimal number written plainly, accepted when `isAcceptable` says so.
    func decimal(
        _ field: Field?, example: String, isAcceptable: (Double) -> Bool, rangeAdvice: String,
        nullMeansAbsent: Bool = false
    ) -> Parsed<Double> {
        guard let field else { return .absent }
        if nullMeansAbsent, field.isNull { return .absent }
        guard let number = plainNumber(field, kind: "a number", example: example) else { return .invalid }
        guard let value = Double(number.filter { $0 != "_" }), value.isFinite else {
            report("expected a number such as \(example), got \(Self.quoted(number))", at: field)
            return .invalid
        }
        guard isAcceptable(value) else {
            report("\(number) is out of range; \(rangeAdvice)", at: field)
            return .invalid
        }
        return .valid(value)
    }

    /// The text of a plain (unquoted) numeric scalar; reports anything else.
    private func plainNumber(_ field: Field, kind: String, example: String) -> String? {
        guard case .scalar(let scalar) = field.node, field.node.resolvedTag != .null else {
            report("expected \(kind) such as \(example), got \(Self.describe(field.node))", at: field)
            return nil
        }
        let tag = field.node.resolvedTag
        if tag == .int || tag == .float { return scalar.string }
        if scalar.style == .singleQuoted || scalar.style == .doubleQuoted,
            Double(scalar.string.filter { $0 != "_" }) != nil
        {
            report(
                "expected \(kind), got the text \(Self.quoted(scalar.string)); write the number without quotes",
                at: field)
        } else {
            report("expected \(kind) such as \(example), got \(Self.describe(field.node))", at: field)
        }
        return nil
    }

    /// A duration such as `90s`, `15m`, `36h`, `7d` (also `us`, `ms`; a bare `0` is zero).
    /// `positive` rejects zero.
    func duration(_ field: Field?, positive: Bool, nullMeansAbsent: Bool = false) -> Parsed<TimeSpan> {
        let expected = "a duration such as 90s, 15m, 36h or 7d"
        guard let field else { return .absent }
        if nullMeansAbsent, field.isNull { return .absent }
        guard case .scalar(let scalar) = field.node, field.node.resolvedTag != .null else {
            report("expected \(expected), got \(Self.describe(field.node))", at: field)
            return .invalid
        }
        let text = scalar.string
        let span: TimeSpan
        if text == "0" {
            span = .zero
        } else if let parsed = TimeSpan(parsing: text) {
            span = parsed
        } else {
            report(Self.durationAdvice(for: text, expected: expected), at: field)
            return .invalid
        }
        if positive, span <= .zero {
            report("must be longer than zero; write \(expected)", at: field)
            return .invalid
        }
        return .valid(span)
    }

    private static func durationAdvice(for text: String, expected: String) -> String {
        let digits = text.prefix { $0.isASCII && $0.isNumber }
        let unit = text.dropFirst(digits.count)
        if !digits.isEmpty, unit.isEmpty {
            return "\(quoted(text)) has no unit; write \(text)s, \(text)m, \(text)h or \(text)d "
                + "(units: us, ms, s, m, h, d)"
        }
        if !digits.isEmpty, ["us", "ms", "s", "m", "h", "d"].contains(String(unit)) {
            return "\(quoted(text)) is too long a duration; use a larger unit or a smaller number"
        }
        return "expected \(expected) (a whole number and one unit: us, ms, s, m, h or d), got \(quoted(text))"
    }
}
