import Yams

/// The YAML tree of a configuration file, composed by Yams.
struct ComposedDocument {
    /// The root node; nil for an empty document.
    let root: Node?
    /// Keys that were written twice in one mapping. Yams refuses such a document outright, so
    /// the composer renamed the earlier occurrences to private sentinel text (same length, so
    /// every line and column stays true) and composed again; this maps sentinel → key as
    /// written, letting validation report each repetition with its key path and go on to
    /// find every other problem.
    let renamedDuplicateKeys: [String: String]
}

/// Turns YAML text into a node tree, reporting syntax errors as problems with their position.
enum DocumentComposer {
    /// A file with more repeated keys than this is reported at the first one and not validated
    /// further; each repair re-parses the whole text.
    static let maximumRepairedDuplicates = 256

    /// A real configuration has a few thousand values. Aliases of aliases can make a small
    /// file expand to billions (found by fuzzing: 3 KB took a minute to validate), so a
    /// document larger than this once expanded is refused before it is read.
    static let maximumExpandedValues = 100_000

    /// Whether `root` has more than `limit` nodes with every alias expanded; stops counting
    /// at the limit, so the answer costs at most `limit` steps.
    static func exceedsExpandedValues(_ root: Node, limit: Int) -> Bool {
        var pending = [root]
        var count = 0
        while let node = pending.popLast() {
            count += 1
            if count > limit { return true }
            switch node {
            case .mapping(let mapping):
                for (key, value) in mapping {
                    pending.append(key)
                    pending.append(value)
                }
            case .sequence(let sequence):
                pending.append(contentsOf: sequence)
            case .scalar, .alias:
                break
            }
        }
        return false
    }

    /// Private-use scalars (U+E000…U+EFFF) make the sentinels: libyaml accepts them in plain
    /// scalars, and no real configuration contains them.
    private static let sentinelScalars: ClosedRange<UInt32> = 0xE000...0xEFFF

    /// The composed document, or nil when it could not be composed (a syntax error or a
    /// repeated key that could not be repaired), in which case `report` was told why.
    static func compose(
        yaml: String, report: (_ message: String, _ line: Int, _ column: Int) -> Void
    ) -> ComposedDocument? {
        let canRepair = !yaml.unicodeScalars.contains { sentinelScalars.contains($0.value) }
        var text = yaml
        var renamed: [String: String] = [:]
        while true {
            do {
                let root = try Yams.compose(yaml: text)
                if let root, exceedsExpandedValues(root, limit: maximumExpandedValues) {
                    report(
                        "the file holds more than \(maximumExpandedValues) values once its aliases (*name) are "
                            + "expanded; write the configuration out, or use fewer aliases", 1, 1)
                    return nil
                }
                return ComposedDocument(root: root, renamedDuplicateKeys: renamed)
            } catch let YamlError.duplicatedKeysInMapping(duplicates, context) {
                let key = duplicates.first ?? ""
                let sentinel = sentinelText(index: renamed.count, length: key.unicodeScalars.count)
                if canRepair, renamed.count < maximumRepairedDuplicates, !key.isEmpty,
                    let repaired = replacingKey(key, at: context.mark, with: sentinel, in: text)
                {
                    text = repaired
                    renamed[sentinel] = key
                    continue
                }
                report(
                    "the key \(ConfigReader.quoted(key)) is written more than once in one mapping; "
                        + "keep one and delete the others", context.mark.line, context.mark.column)
                return nil
            } catch let error as YamlError {
                let (message, line, column) = describe(syntaxError: error, in: text)
                report(message, line, column)
                return nil
            } catch {
                report("cannot parse the YAML: \(error)", 1, 1)
                return nil
            }
        }
    }

    private static func sentinelText(index: Int, length: Int) -> String {
        // Distinct first scalars keep sentinels of one mapping distinct; the cap on repairs
        // keeps the index inside the private-use range.
        let first = Unicode.Scalar(sentinelScalars.lowerBound + UInt32(index)) ?? "\u{E000}"
        let filler: Unicode.Scalar = "\u{E000}"
        var scalars = String.UnicodeScalarView()
        scalars.append(first)
        for _ in 1..<max(length, 1) { scalars.append(filler) }
        return String(scalars)
    }

    /// `text` with the key that starts at `mark` (plain, or in single or double quotes)
    /// replaced by `sentinel` of the same length; nil when the text there is not the key
    /// written plainly (escapes, block scalars), which the caller treats as unrepairable.
    static func replacingKey(_ key: String, at mark: Mark, with sentinel: String, in text: String) -> String? {
        var scalars = Array(text.unicodeScalars)
        guard let lineStart = startOfLine(mark.line, in: scalars) else { return nil }
        var start = lineStart + mark.column - 1
        guard start < scalars.count else { return nil }
        if scalars[start] == "\"" || scalars[start] == "'" { start += 1 }
        let keyScalars = Array(key.unicodeScalars)
        let sentinelScalars = Array(sentinel.unicodeScalars)
        guard sentinelScalars.count == keyScalars.count, start + keyScalars.count <= scalars.count,
            Array(scalars[start..<(start + keyScalars.count)]) == keyScalars
        else { return nil }
        scalars.replaceSubrange(start..<(start + keyScalars.count), with: sentinelScalars)
        var view = String.UnicodeScalarView()
        view.append(contentsOf: scalars)
        return String(view)
    }

    /// Offset of the first scalar of 1-based `line`, counting line breaks as libyaml does
    /// (YAML 1.1): `\n`, lone `\r`, NEL, and the Unicode line and paragraph separators.
    private static func startOfLine(_ line: Int, in scalars: [Unicode.Scalar]) -> Int? {
        var currentLine = 1
        var index = 0
        while currentLine < line {
            guard index < scalars.count else { return nil }
            let scalar = scalars[index]
            index += 1
            if scalar == "\n" || scalar == "\u{85}" || scalar == "\u{2028}" || scalar == "\u{2029}"
                || (scalar == "\r" && (index >= scalars.count || scalars[index] != "\n"))
            {
                currentLine += 1
            }
        }
        return index
    }

    /// A Yams error as an operator-facing message and position.
    static func describe(syntaxError error: YamlError, in text: String) -> (String, Int, Int) {
        let advice =
            "check the indentation (spaces, not tabs) and quote text that contains \": \" "
            + "or \" #\" or starts with a character such as * & ! | > % @ or `"
        switch error {
        case .scanner(let context, let problem, let mark, _),
            .parser(let context, let problem, let mark, _),
            .composer(let context, let problem, let mark, _):
            var message = "invalid YAML: \(problem)"
            if let context {
                message += " (\(context.text) at line \(context.mark.line), column \(context.mark.column))"
            }
            return (message + "; " + advice, mark.line, mark.column)
        case .reader(let problem, let offset, _, _):
            let (line, column) = offset.map { position(ofCharacterOffset: $0, in: text) } ?? (1, 1)
            return (
                "the file cannot be read as YAML text: \(problem); "
                    + "remove control characters and save the file as UTF-8", line, column
            )
        default:
            return ("invalid YAML: \(error)", 1, 1)
        }
    }

    /// Line and column (1-based, column in Unicode scalars) of the `offset`-th Character.
    static func position(ofCharacterOffset offset: Int, in text: String) -> (Int, Int) {
        var line = 1
        var column = 1
        for (index, character) in text.enumerated() {
            if index == offset { break }
            if character == "\n" || character == "\r\n" || character == "\r" {
                line += 1
                column = 1
            } else {
                column += character.unicodeScalars.count
            }
        }
        return (line, column)
    }
}
