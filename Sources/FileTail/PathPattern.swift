#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// A tail source's `path`: a file path whose last component may be a glob.
///
/// The directory part may hold a glob too (expanded with `glob(3)` at every poll), but only
/// the directories that exist at a poll are watched; a directory created later is found at the
/// next poll. Wildcards do not match a leading `.` (as in the shell), so `*` skips hidden files.
struct PathPattern: Sendable {
    /// The pattern as configured.
    let text: String
    /// The directory part, without the trailing `/`; `""` when the pattern has no `/`
    /// (relative to the working directory).
    let directory: String
    /// The last component: a file name or an `fnmatch(3)` pattern.
    let namePattern: String
    /// Whether ``directory`` holds glob characters.
    let directoryIsGlob: Bool

    init(_ text: String) throws(TailError) {
        guard !text.isEmpty, !text.hasSuffix("/") else { throw TailError(.invalidPattern, path: text) }
        self.text = text
        if let slash = text.lastIndex(of: "/") {
            let directoryPart = String(text[..<slash])
            directory = directoryPart.isEmpty ? "/" : directoryPart
            namePattern = String(text[text.index(after: slash)...])
        } else {
            directory = ""
            namePattern = text
        }
        directoryIsGlob = directory.contains(where: { "*?[".contains($0) })
    }

    /// Whether a directory entry's name matches the last component.
    func matches(name: String) -> Bool {
        fnmatch(namePattern, name, FNM_PERIOD) == 0
    }

    /// The path of entry `name` in `directory`, spelled the way the pattern is.
    static func join(_ directory: String, _ name: String) -> String {
        switch directory {
        case "": return name
        case "/": return "/" + name
        default: return directory + "/" + name
        }
    }

    /// The directory part of a path, as ``join(_:_:)`` expects it.
    static func directory(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "" }
        let part = String(path[..<slash])
        return part.isEmpty ? "/" : part
    }

    /// The directories to search now: the directory part itself, or its `glob(3)` expansion.
    func currentDirectories() -> [String] {
        guard directoryIsGlob else { return [directory] }
        var matches = glob_t()
        defer { globfree(&matches) }
        guard glob(directory, GLOB_ONLYDIR, nil, &matches) == 0 else { return [] }
        var directories: [String] = []
        for index in 0..<Int(matches.gl_pathc) {
            guard let entry = matches.gl_pathv[index] else { continue }
            let path = String(cString: entry)
            // GLOB_ONLYDIR is only a hint: keep directories (and links to them) only.
            var status = stat()
            if stat(path, &status) == 0, (status.st_mode & S_IFMT) == S_IFDIR { directories.append(path) }
        }
        return directories.sorted()
    }
}

/// One entry of a directory listing.
struct DirectoryEntry {
    var name: String
    /// `d_ino`: lets a search for an inode skip the `stat(2)` of every other entry.
    var inode: UInt64
}

/// Lists a directory (without `.` and `..`); the errno of `opendir(3)` on failure.
func listDirectory(_ directory: String) -> Result<[DirectoryEntry], SystemError> {
    guard let handle = opendir(directory.isEmpty ? "." : directory) else { return .failure(SystemError(errno)) }
    defer { closedir(handle) }
    var entries: [DirectoryEntry] = []
    while let entry = readdir(handle) {
        let name = withUnsafePointer(to: &entry.pointee.d_name) { tuple in
            tuple.withMemoryRebound(to: CChar.self, capacity: MemoryLayout.size(ofValue: tuple.pointee)) {
                String(cString: $0)
            }
        }
        if name == "." || name == ".." { continue }
        entries.append(DirectoryEntry(name: name, inode: UInt64(entry.pointee.d_ino)))
    }
    return .success(entries)
}
