import IngestEnvelope
import Logging

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

extension FileFollower {
    /// Opens the matching files not followed yet and decides where each starts.
    func openDiscoveredFiles(_ discovery: Discovery, _ progress: inout PollProgress) {
        for identity in discovery.order where files[identity] == nil {
            guard let path = discovery.pathsByIdentity[identity]?.first else { continue }
            guard let (descriptor, status, head) = open(path, expecting: identity, &progress) else { continue }
            let stored = pendingCheckpoints.removeValue(forKey: identity)
            let start: Int64
            if let stored {
                if Self.checkpoint(stored, describes: status, head: head) {
                    start = stored.offset
                    logger.debug("resuming \(path) at offset \(start)")
                } else {
                    start = 0
                    logger.notice(
                        "\(path) is not the file its checkpoint describes (replaced, truncated or inode reused while cjmd was stopped): reading it from offset 0"
                    )
                }
            } else if !startAtBeginning && isFirstRun && !hasDiscovered {
                switch endOfLastCompleteLine(descriptor, size: status.size) {
                case .success(let end): start = end
                case .failure(let error):
                    closeDescriptor(descriptor)
                    noteFailure(TailError(.readFailed, path: path, errno: error.code), &progress)
                    continue
                }
            } else {
                start = 0
            }
            let file = FollowedFile(
                descriptor: descriptor, path: path, status: status, head: head, startOffset: start,
                maxLineBytes: maxLineBytes)
            // Reported even at offset 0: a stored checkpoint is what finds the file again if it
            // is rotated away while cjmd is stopped, before any of its lines was read.
            file.lastReported = nil
            files[identity] = file
        }
    }

    /// Settles the stored checkpoints whose file is at no matching path: a file rotated while
    /// cjmd was stopped is found by inode in its old directory and drained from its offset;
    /// the others are forgotten — but only once the pattern matches some file again: a missing
    /// directory or a pattern matching nothing (a log volume not mounted yet, say) is no
    /// evidence that the files are gone, and forgetting would re-read them from 0 later.
    func resolvePendingCheckpoints(_ discovery: Discovery, now: Double, _ progress: inout PollProgress) {
        guard !pendingCheckpoints.isEmpty, !discovery.pathsByIdentity.isEmpty else { return }
        var listings: [String: Result<[DirectoryEntry], SystemError>] = [:]
        for stored in pendingCheckpoints.values.sorted(by: { $0.path < $1.path }) {
            // Found at a matching path but not openable: retried at the next poll.
            if discovery.pathsByIdentity[stored.identity] != nil { continue }
            let directory = PathPattern.directory(of: stored.path)
            let listing = listings[directory] ?? listDirectory(directory)
            listings[directory] = listing
            switch listing {
            case .failure(let error) where error.code != ENOENT && error.code != ENOTDIR:
                noteFailure(
                    TailError(.directoryUnreadable, path: directory.isEmpty ? "." : directory, errno: error.code),
                    &progress)
                continue
            case .failure:
                continue  // the directory is not there (yet): keep the checkpoint
            case .success(let entries):
                if resumeRotated(stored, in: directory, entries, now: now, &progress) { continue }
            }
            pendingCheckpoints[stored.identity] = nil
            if let replacement = files.values.first(where: { $0.path == stored.path }) {
                logger.notice(
                    "\(stored.path) was replaced while cjmd was stopped: the new file is read from offset 0 (\(replacement.identity) instead of \(stored.identity))"
                )
            } else {
                logger.info(
                    "the file of checkpoint \(stored.path) (\(stored.identity)) is gone: forgetting its checkpoint")
            }
            progress.forgotten.append(stored.identity)
        }
    }

    /// Looks for the checkpoint's file among `entries`; if found with the same content, opens
    /// it to be drained from the checkpoint. False if it is not there (or not the same file).
    /// True also when it is there but cannot be opened yet (the checkpoint is kept).
    private func resumeRotated(
        _ stored: FilePosition, in directory: String, _ entries: [DirectoryEntry], now: Double,
        _ progress: inout PollProgress
    ) -> Bool {
        for entry in entries where entry.inode == stored.identity.inode {
            let path = PathPattern.join(directory, entry.name)
            guard case .success(let status) = FileStatus.of(path: path), status.identity == stored.identity,
                status.isRegularFile
            else { continue }
            guard let (descriptor, opened, head) = open(path, expecting: stored.identity, &progress) else {
                return true  // Unreadable for now: keep the checkpoint and retry at the next poll.
            }
            // An empty fingerprint (the file was empty when last seen) says nothing about the
            // content: then only a name that looks rotated from the old one is trusted.
            let trusted =
                ContentFingerprint.hashedLength(of: stored.fingerprint) != 0
                || entry.name.hasPrefix(Self.lastComponent(of: stored.path))
            guard trusted, Self.checkpoint(stored, describes: opened, head: head) else {
                closeDescriptor(descriptor)
                return false
            }
            let file = FollowedFile(
                descriptor: descriptor, path: path, status: opened, head: head, startOffset: stored.offset,
                maxLineBytes: maxLineBytes)
            file.detachment = .renamedAway
            file.detachedAtPoll = pollCount
            file.detachedAtTime = now
            file.lastReported = nil
            files[stored.identity] = file
            pendingCheckpoints[stored.identity] = nil
            logger.info(
                "\(stored.path) was rotated to \(path) while cjmd was stopped: reading it from offset \(stored.offset) to its end"
            )
            return true
        }
        return false
    }

    /// Whether a stored checkpoint is the file now open: same identity (checked by the caller),
    /// same first bytes, and not shorter than the stored offset.
    static func checkpoint(_ stored: FilePosition, describes status: FileStatus, head: [UInt8]) -> Bool {
        stored.offset >= 0 && stored.offset <= status.size && ContentFingerprint.matches(stored.fingerprint, head: head)
    }

    /// Opens `path` and reads its first bytes; nil (with the failure noted) if it cannot, or
    /// if the path now names another file than the one listed.
    private func open(_ path: String, expecting identity: FileIdentity, _ progress: inout PollProgress)
        -> (descriptor: Int32, status: FileStatus, head: [UInt8])?
    {
        let descriptor: Int32
        switch openForReading(path) {
        case .success(let opened): descriptor = opened
        case .failure(let error) where error.code == ENOENT:
            return nil  // Renamed or deleted since the listing: the next poll sees where it went.
        case .failure(let error):
            noteFailure(TailError(.fileUnreadable, path: path, errno: error.code), &progress)
            return nil
        }
        let status: FileStatus
        switch FileStatus.of(descriptor: descriptor) {
        case .success(let current) where current.identity == identity:
            status = current
        case .success:
            closeDescriptor(descriptor)
            return nil
        case .failure(let error):
            closeDescriptor(descriptor)
            noteFailure(TailError(.fileUnreadable, path: path, errno: error.code), &progress)
            return nil
        }
        switch readHead(descriptor) {
        case .success(let head):
            clearProblem(path)
            return (descriptor, status, head)
        case .failure(let error):
            closeDescriptor(descriptor)
            noteFailure(TailError(.readFailed, path: path, errno: error.code), &progress)
            return nil
        }
    }

    /// The offset just past the last `\n` before `size` (0 if there is none), found by reading
    /// backwards one chunk at a time.
    private func endOfLastCompleteLine(_ descriptor: Int32, size: Int64) -> Result<Int64, SystemError> {
        guard let base = chunk.baseAddress else { return .success(0) }
        var end = size
        while end > 0 {
            let start = max(0, end - Int64(chunk.count))
            let wanted = Int(end - start)
            var filled = 0
            reading: while filled < wanted {
                switch readBytes(descriptor, into: base + filled, count: wanted - filled, at: start + Int64(filled)) {
                case .failure(let error): return .failure(error)
                case .success(0): break reading  // Shrank meanwhile: search what was read.
                case .success(let n): filled += n
                }
            }
            if let found = lastNewlineIndex(base, filled) { return .success(start + Int64(found) + 1) }
            end = start
        }
        return .success(0)
    }

    private func lastNewlineIndex(_ base: UnsafeMutableRawPointer, _ count: Int) -> Int? {
        let bytes = UnsafeRawBufferPointer(start: base, count: count)
        return bytes.lastIndex(of: UInt8(ascii: "\n"))
    }
}
