import IngestEnvelope
import Logging

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// The matching files one poll found.
struct Discovery {
    /// Paths of each file (several for hard links, or a rotated name the glob also matches),
    /// sorted.
    var pathsByIdentity: [FileIdentity: [String]] = [:]
    var statusByIdentity: [FileIdentity: FileStatus] = [:]
    /// Identities in order of their first path.
    var order: [FileIdentity] = []
}

extension FileFollower {
    /// Lists the directories and stats every matching entry. Throws before anything changes.
    func discover(_ pattern: PathPattern, in directories: [String]) throws(TailError) -> Discovery {
        var discovery = Discovery()
        var found: [(path: String, status: FileStatus)] = []
        for directory in directories {
            let entries: [DirectoryEntry]
            switch listDirectory(directory) {
            case .success(let listed):
                entries = listed
                clearProblem(directory)
            case .failure(let error) where error.code == ENOENT:
                logOnce(
                    directory,
                    "directory \(directory) does not exist: files matching \(patternText) are picked up once it is created",
                    level: .warning)
                continue
            case .failure(let error):
                throw TailError(.directoryUnreadable, path: directory.isEmpty ? "." : directory, errno: error.code)
            }
            for entry in entries where pattern.matches(name: entry.name) {
                let path = PathPattern.join(directory, entry.name)
                // A vanished entry was renamed or deleted since the listing: the next poll sees it.
                guard case .success(let status) = FileStatus.of(path: path), status.isRegularFile else { continue }
                found.append((path, status))
            }
        }
        found.sort { $0.path < $1.path }
        for (path, status) in found {
            if discovery.pathsByIdentity[status.identity] == nil {
                discovery.order.append(status.identity)
                discovery.statusByIdentity[status.identity] = status
            }
            discovery.pathsByIdentity[status.identity, default: []].append(path)
        }
        return discovery
    }

    /// Checks every open file: still at a matching path? deleted? truncated or replaced in
    /// place? longer first bytes for its fingerprint?
    func inspectFollowedFiles(_ discovery: Discovery, now: Double, _ progress: inout PollProgress) {
        for file in files.values.sorted(by: { $0.path < $1.path }) {
            let status: FileStatus
            switch FileStatus.of(descriptor: file.descriptor) {
            case .success(let current): status = current
            case .failure(let error):
                noteFailure(TailError(.readFailed, path: file.path, errno: error.code), &progress)
                continue
            }
            if status.linkCount == 0 {
                detach(file, .deleted, now: now)
            } else if let paths = discovery.pathsByIdentity[file.identity] {
                if file.detachment != nil {
                    logger.info("\(file.path) is back at a matching path: following it again")
                    file.detachment = nil
                }
                if !paths.contains(file.path), let current = paths.first {
                    logger.info(
                        "\(file.path) was renamed to \(current), which also matches: still following it, without reading it again"
                    )
                    file.path = current
                }
            } else {
                detach(file, .renamedAway, now: now)
            }
            checkContent(of: file, status: status, &progress)
        }
    }

    /// Notices a truncation or a replacement in place, and extends the fingerprint.
    private func checkContent(of file: FollowedFile, status: FileStatus, _ progress: inout PollProgress) {
        let headCanGrow = file.head.count < ContentFingerprint.maximumLength && status.size > Int64(file.head.count)
        let shrank = status.size < file.framer.offset
        guard shrank || headCanGrow || status != file.lastStatus else { return }
        let current: [UInt8]
        switch readHead(file.descriptor) {
        case .success(let bytes): current = bytes
        case .failure(let error):
            noteFailure(TailError(.readFailed, path: file.path, errno: error.code), &progress)
            return
        }
        file.lastStatus = status
        if shrank || !file.headIsPrefix(of: current) {
            let what =
                shrank
                ? "was truncated (\(status.size) bytes, \(file.framer.offset) read)"
                : "has new content (its first bytes changed)"
            logger.notice(
                "\(file.path) \(what), as with copytruncate: reading it again from offset 0; lines appended after the last read and before the truncation are lost"
            )
            file.restart(head: current)
        } else if current.count > file.head.count {
            file.extendHead(current)
        }
    }

    /// Starts draining a file that left the matching paths.
    private func detach(_ file: FollowedFile, _ reason: FollowedFile.Detachment, now: Double) {
        guard file.detachment != reason else { return }
        if file.detachment == nil {
            file.detachedAtPoll = pollCount
            file.detachedAtTime = now
        }
        file.detachment = reason
        switch reason {
        case .deleted:
            logger.info("\(file.path) was deleted: reading it to its end before closing it")
        case .renamedAway:
            let directory = PathPattern.directory(of: file.path)
            if let renamed = locate(file.identity, in: directory) { file.path = renamed }
            logger.info("\(file.path) was rotated away: reading it to its end before closing it")
        }
    }

    /// The path in `directory` of the file with `identity`, if it is there.
    func locate(_ identity: FileIdentity, in directory: String) -> String? {
        guard case .success(let entries) = listDirectory(directory) else { return nil }
        for entry in entries where entry.inode == identity.inode {
            let path = PathPattern.join(directory, entry.name)
            if case .success(let status) = FileStatus.of(path: path), status.identity == identity, status.isRegularFile
            {
                return path
            }
        }
        return nil
    }

    /// Records a file problem for this poll and logs it once until it changes.
    func noteFailure(_ error: TailError, _ progress: inout PollProgress) {
        progress.failures.append(error)
        logOnce(error.path, error.description, level: .error)
    }

    func logOnce(_ key: String, _ message: String, level: Logger.Level) {
        guard loggedProblems[key] != message else { return }
        loggedProblems[key] = message
        logger.log(level: level, "\(message)")
    }

    func clearProblem(_ key: String) {
        loggedProblems[key] = nil
    }
}
