#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// A file-system problem met while following files; its description says what to do.
public struct TailError: Error, CustomStringConvertible, Sendable, Equatable {
    /// What went wrong.
    public enum Problem: Sendable, Equatable {
        /// The `path` pattern cannot be followed (empty, or ends with `/`).
        case invalidPattern
        /// A directory to search could not be listed. ``FileFollower/poll()`` throws this.
        case directoryUnreadable
        /// A matching file could not be opened or inspected; it is retried at every poll.
        case fileUnreadable
        /// A followed file could not be read; it is retried at every poll.
        case readFailed
    }

    /// What went wrong.
    public var problem: Problem
    /// The pattern, directory or file concerned.
    public var path: String
    /// The `errno` reported by the system, 0 if none.
    public var errno: Int32

    /// Creates an error.
    public init(_ problem: Problem, path: String, errno: Int32 = 0) {
        self.problem = problem
        self.path = path
        self.errno = errno
    }

    /// The problem and what to do about it.
    public var description: String {
        switch problem {
        case .invalidPattern:
            return
                "tail path \"\(path)\" is not a usable file pattern: give a file path or a glob such as /var/log/shop/events.ndjson*"
        case .directoryUnreadable:
            return
                "cannot list directory \(path) (\(errnoText(errno))): check that the user running cjmd may read and search it"
        case .fileUnreadable:
            return
                "cannot open \(path) (\(errnoText(errno))): check that the user running cjmd may read it; it is retried at every poll"
        case .readFailed:
            return
                "cannot read \(path) (\(errnoText(errno))): check the disk and file system; reading resumes at the same offset at the next poll"
        }
    }
}

/// The text of an errno value, e.g. "Permission denied".
func errnoText(_ code: Int32) -> String {
    guard code != 0, let text = strerror(code) else { return "errno \(code)" }
    return String(cString: text)
}
