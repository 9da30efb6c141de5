import DaemonSettings
import Foundation
import JourneyCore

/// Reads the YAML configuration of cjmd (docs/configuration.md) into a validated `CJMConfiguration`,
/// reporting every problem at once with its file, line, column and key path.
public enum ConfigurationLoader {
    /// Where `cjmd` looks when no `--config` is given.
    public static let defaultPath = "/etc/cjmd/cjmd.yaml"

    /// Reads and validates the file at `path`.
    ///
    /// - Throws: `.fileNotFound` when nothing is at `path`, `.unreadable` when it cannot be
    ///   read, `.invalid` with every problem when its content is wrong.
    public static func load(path: String) throws(ConfigurationError) -> CJMConfiguration {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw .fileNotFound(path: path)
        }
        guard !isDirectory.boolValue else {
            throw .unreadable(path: path, reason: "it is a directory")
        }
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            throw .unreadable(path: path, reason: readFailureReason(error))
        }
        guard let text = String(data: data, encoding: .utf8) else {
            let (line, column) = firstInvalidUTF8Position(in: Array(data))
            throw .invalid([
                ConfigurationProblem(
                    file: path, line: line, column: column, keyPath: "",
                    message: "the file is not valid UTF-8 text; save it as UTF-8")
            ])
        }
        return try parse(yaml: text, fileName: path)
    }

    /// Validates configuration text; `fileName` only labels the problems.
    ///
    /// - Throws: `.invalid` with every problem found, ordered by position.
    public static func parse(yaml: String, fileName: String) throws(ConfigurationError) -> CJMConfiguration {
        var syntaxProblems: [ConfigurationProblem] = []
        let composed = DocumentComposer.compose(yaml: yaml) { message, line, column in
            syntaxProblems.append(
                ConfigurationProblem(
                    file: fileName, line: line, column: column, keyPath: "", message: message))
        }
        guard let composed else { throw .invalid(syntaxProblems) }
        let reader = ConfigReader(fileName: fileName, renamedDuplicateKeys: composed.renamedDuplicateKeys)
        let configuration = reader.readConfiguration(root: composed.root)
        guard reader.problems.isEmpty else {
            throw .invalid(
                reader.problems.enumerated()
                    .sorted {
                        ($0.element.line, $0.element.column, $0.offset) < (
                            $1.element.line, $1.element.column, $1.offset
                        )
                    }
                    .map(\.element))
        }
        return configuration
    }

    private static func readFailureReason(_ error: any Error) -> String {
        let nsError = error as NSError
        if let underlying = nsError.userInfo[NSUnderlyingErrorKey] as? NSError,
            underlying.domain == NSPOSIXErrorDomain, let code = POSIXErrorCode(rawValue: Int32(underlying.code))
        {
            return String(cString: strerror(code.rawValue))
        }
        return nsError.localizedDescription
    }

    /// 1-based line and column (in characters) of the first byte that breaks UTF-8.
    static func firstInvalidUTF8Position(in bytes: [UInt8]) -> (line: Int, column: Int) {
        var line = 1
        var lineStart = 0
        var index = 0
        while index < bytes.count {
            let byte = bytes[index]
            let length: Int
            switch byte {
            case 0x00...0x7F: length = 1
            case 0xC2...0xDF: length = 2
            case 0xE0...0xEF: length = 3
            case 0xF0...0xF4: length = 4
            default: length = 0
            }
            let sequenceEnd = index + length
            guard length > 0, sequenceEnd <= bytes.count,
                String(validating: bytes[index..<sequenceEnd], as: UTF8.self) != nil
            else {
                let column = String(decoding: bytes[lineStart..<index], as: UTF8.self).unicodeScalars.count + 1
                return (line, column)
            }
            if byte == UInt8(ascii: "\n") {
                line += 1
                lineStart = sequenceEnd
            }
            index = sequenceEnd
        }
        return (line, 1)
    }
}
