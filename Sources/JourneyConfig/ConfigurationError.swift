/// One thing wrong with a configuration file, located precisely enough for an editor to jump
/// to it: `FILE:LINE:COL: KEYPATH: MESSAGE`.
public struct ConfigurationProblem: Sendable, Equatable, CustomStringConvertible {
    /// The file name as given to the loader (a path, or a label such as `<stdin>`).
    public var file: String
    /// 1-based line of the offending key or value.
    public var line: Int
    /// 1-based column (in Unicode scalars, as libyaml counts them).
    public var column: Int
    /// Where the value sits, e.g. `journeys[0].stages[2].abandon_after`; empty for problems
    /// with the document as a whole (YAML syntax errors, an empty file).
    public var keyPath: String
    /// What is wrong and what to write instead.
    public var message: String

    /// Creates a problem; the loader builds these, tests compare them.
    public init(file: String, line: Int, column: Int, keyPath: String, message: String) {
        self.file = file
        self.line = line
        self.column = column
        self.keyPath = keyPath
        self.message = message
    }

    /// `FILE:LINE:COL: KEYPATH: MESSAGE` (the key path segment is left out when empty), the
    /// form compilers use, so editors and CI annotate the line.
    public var description: String {
        let location = "\(file):\(line):\(column)"
        return keyPath.isEmpty ? "\(location): \(message)" : "\(location): \(keyPath): \(message)"
    }
}

/// Why a configuration could not be loaded.
///
/// A missing or unreadable file is kept apart from bad content because the command line
/// reports them with different exit codes (66 and 78, docs/cli.md).
public enum ConfigurationError: Error, Sendable, Equatable, CustomStringConvertible {
    /// No file exists at `path`.
    case fileNotFound(path: String)
    /// The file exists but cannot be read (permissions, a directory, an I/O error).
    case unreadable(path: String, reason: String)
    /// The file was read, and its content is wrong; every problem found is listed, in order
    /// of position in the file.
    case invalid([ConfigurationProblem])

    /// The problems in the content; empty for `fileNotFound` and `unreadable`.
    public var problems: [ConfigurationProblem] {
        if case .invalid(let problems) = self { return problems }
        return []
    }

    /// The exit code the command line should use: 66 (cannot open input) for a file that is
    /// missing or unreadable, 78 (configuration error) for invalid content.
    public var exitCode: Int32 {
        switch self {
        case .fileNotFound, .unreadable: return 66
        case .invalid: return 78
        }
    }

    /// One line per problem, ready for stderr.
    public var description: String {
        switch self {
        case .fileNotFound(let path):
            return "\(path): configuration file not found; pass the right path with --config "
                + "(the repository ships a commented example in config/cjmd.yaml)"
        case .unreadable(let path, let reason):
            return "\(path): cannot read the configuration file: \(reason); "
                + "check that it is a regular file readable by the user cjmd runs as"
        case .invalid(let problems):
            return problems.map(\.description).joined(separator: "\n")
        }
    }
}
