import EventDecoding
import IngestEnvelope
import Logging

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// Follows the NDJSON files of one `type: tail` source and hands out their complete lines with
/// exact file offsets, so that the caller can commit each file's offset in the same transaction
/// as the events read up to it (exactly once: docs/reliability.md).
///
/// It does no decoding and no database work. Use it from one thread:
///
/// ```swift
/// let follower = FileFollower(pattern: "/var/log/shop/events.ndjson*", startAtBeginning: true,
///                             checkpoints: storedRows, maxLineBytes: 65_536, logger: logger)
/// while running {
///     let outcome = try follower.poll()       // store lines + checkpoints, then delete `forgotten`
///     follower.waitForChanges(timeoutSeconds: 1)
/// }
/// follower.close()
/// ```
///
/// What it guarantees (the FileTail article has the full contract):
/// - A file is identified by device, inode and a fingerprint of its first bytes (up to 1 KiB).
/// - A partial last line is not handed out until its `\n` arrives; the checkpoint stays before it.
/// - Rotation by rename: the old file is read to its end before it is closed, the new one from 0.
/// - Truncation and copytruncate: reading restarts at 0 of the new content.
/// - Deleted files are drained from the open descriptor, then reported in ``TailPoll/forgotten``.
/// - Memory is bounded: 256 KiB reads, at most `readBudgetBytes` per poll, lines longer than
///   `maxLineBytes` are cut by ``LineFramer`` without being buffered whole.
public final class FileFollower {
    /// Size of one read(2), and of the one buffer reused for all reads.
    public static let chunkSize = 256 << 10
    /// How long ``waitForChanges(timeoutSeconds:)`` sleeps at most without inotify.
    public static let pollingInterval = 0.25

    let patternText: String
    let pattern: Result<PathPattern, TailError>
    let startAtBeginning: Bool
    /// The source has no checkpoint at all: its very first run (`start_at: end` applies).
    let isFirstRun: Bool
    let maxLineBytes: Int
    let readBudgetBytes: Int
    let drainGraceSeconds: Double
    let logger: Logger

    /// Open files by identity. A held descriptor keeps its inode from being reused, so the
    /// identity of a followed file is unambiguous.
    var files: [FileIdentity: FollowedFile] = [:]
    /// Stored checkpoints not yet matched to a file.
    var pendingCheckpoints: [FileIdentity: FilePosition] = [:]
    var pollCount = 0
    /// Whether a poll has listed the directories: files found later start at 0.
    var hasDiscovered = false
    /// Whether the last poll stopped because its read budget ran out.
    var leftUnreadBytes = false
    /// Problems already logged, by path, so a persistent one is logged once.
    var loggedProblems: [String: String] = [:]
    let watcher: ChangeWatcher
    let chunk: UnsafeMutableRawBufferPointer
    private(set) var isClosed = false

    /// Creates a follower; it opens nothing until the first ``poll()``.
    /// - Parameters:
    ///   - pattern: The source's `path`: a file path whose last component may be a glob
    ///     (`fnmatch(3)`: `*`, `?`, `[…]`; a leading `.` is matched only explicitly).
    ///   - startAtBeginning: `start_at: beginning`. With `false` (`end`), files found by the
    ///     first poll of a source that has no checkpoint at all start at the end of their last
    ///     complete line; every other file without a matching checkpoint starts at 0.
    ///   - checkpoints: The source's stored checkpoints (one per file).
    ///   - maxLineBytes: `ingest.max_line_bytes`; longer lines are handed out cut, with their length.
    ///   - logger: Receives notices about rotation, truncation and unreadable files.
    ///   - readBudgetBytes: The most bytes one poll reads over all files; not calling
    ///     ``poll()`` is the backpressure.
    ///   - drainGraceSeconds: How long a file rotated away or deleted keeps being read after
    ///     that was noticed, for writers that have not reopened yet. It is closed at the first
    ///     poll after that time (and after the poll that noticed it) that finds nothing new.
    public init(
        pattern: String,
        startAtBeginning: Bool,
        checkpoints: [FilePosition],
        maxLineBytes: Int,
        logger: Logger,
        readBudgetBytes: Int = 4 << 20,
        drainGraceSeconds: Double = 1.0
    ) {
        var logger = logger
        logger[metadataKey: "tail"] = "\(pattern)"
        self.logger = logger
        self.patternText = pattern
        self.pattern = Result { () throws(TailError) in try PathPattern(pattern) }
        self.startAtBeginning = startAtBeginning
        self.isFirstRun = checkpoints.isEmpty
        self.maxLineBytes = max(1, maxLineBytes)
        self.readBudgetBytes = max(1, readBudgetBytes)
        self.drainGraceSeconds = max(0, drainGraceSeconds)
        for checkpoint in checkpoints {
            if let kept = pendingCheckpoints[checkpoint.identity] {
                logger.warning("two checkpoints for file \(checkpoint.identity): keeping the one for \(kept.path)")
                continue
            }
            pendingCheckpoints[checkpoint.identity] = checkpoint
        }
        chunk = UnsafeMutableRawBufferPointer.allocate(byteCount: Self.chunkSize, alignment: 16)
        watcher = ChangeWatcher(logger: logger)
        if case .success(let valid) = self.pattern { watcher.watch(valid.currentDirectories()) }
    }

    deinit {
        close()
        chunk.deallocate()
    }

    /// Whether ``waitForChanges(timeoutSeconds:)`` is woken by inotify: an inotify instance
    /// exists and every directory involved is watched. Otherwise it sleeps at most
    /// ``pollingInterval``. Updated at every poll (a missing directory is watched once it exists).
    public var usesInotify: Bool { !isClosed && watcher.isAvailable && watcher.coversAllDirectories }

    /// One pass: finds the matching files, notices rotation, truncation and deletion, and
    /// reads the bytes appended since the last poll, at most `readBudgetBytes` in all.
    ///
    /// - Throws: ``TailError`` with ``TailError/Problem/invalidPattern`` or
    ///   ``TailError/Problem/directoryUnreadable``, before anything is read. Files that cannot
    ///   be opened or read are not errors: they are listed in ``TailPoll/failures`` and retried.
    public func poll() throws(TailError) -> TailPoll {
        guard !isClosed else { return TailPoll(reads: [], forgotten: []) }
        let pattern = try pattern.get()
        // Whatever happens from here on wakes the next wait: the listing below sees the rest.
        watcher.discardPending()
        let directories = pattern.currentDirectories()
        watcher.watch(directories)
        let discovery = try discover(pattern, in: directories)

        pollCount += 1
        let now = monotonicSeconds()
        var progress = PollProgress()
        inspectFollowedFiles(discovery, now: now, &progress)
        openDiscoveredFiles(discovery, &progress)
        resolvePendingCheckpoints(discovery, now: now, &progress)
        hasDiscovered = true

        let order = readingOrder()
        readAppendedBytes(order, &progress)
        finishDrainedFiles(order, now: now, &progress)
        return assemble(order, &progress)
    }

    /// Blocks until something may have changed, or `timeoutSeconds` passed.
    ///
    /// With inotify it wakes when a matching file (or a followed one) in a watched directory
    /// is created, written, renamed, deleted or has its permissions changed: within
    /// milliseconds. Without inotify it sleeps `min(timeoutSeconds, 0.25)`. It returns at once
    /// when the last poll left bytes unread (budget exhausted), and waits at most 0.25 s while a
    /// rotated or deleted file is being drained.
    public func waitForChanges(timeoutSeconds: Double) {
        guard !isClosed, timeoutSeconds > 0, !leftUnreadBytes else { return }
        var timeout = timeoutSeconds
        if files.values.contains(where: { $0.detachment != nil }) {
            timeout = min(timeout, Self.pollingInterval)
        }
        guard usesInotify, case .success(let pattern) = pattern else {
            sleepSeconds(min(timeout, Self.pollingInterval))
            return
        }
        let followedNames = Set(files.values.map { Self.lastComponent(of: $0.path) })
        _ = watcher.wait(timeout: timeout) { _, name in
            guard let name else { return true }
            return pattern.matches(name: name) || followedNames.contains(name)
        }
    }

    /// Closes every file and the inotify instance. Later polls return nothing. Idempotent.
    public func close() {
        guard !isClosed else { return }
        isClosed = true
        for file in files.values { file.closeFile() }
        files = [:]
        watcher.close()
    }

    /// The number of files open now (followed or being drained).
    public var openFileCount: Int { files.count }

    /// The number of files rotated away or deleted that are still being read to their end.
    /// While it is not 0, a poll that hands out nothing does not mean that nothing will follow.
    public var drainingFileCount: Int { files.values.reduce(0) { $0 + ($1.detachment == nil ? 0 : 1) } }

    /// Whether the last poll stopped because its read budget ran out: poll again at once.
    public var hasUnreadBytes: Bool { leftUnreadBytes }

    /// Bytes reserved for unfinished lines over all open files: about 2 × `maxLineBytes` per
    /// file at most, however long the lines. For metrics and tests.
    public var pendingLineBufferBytes: Int { files.values.reduce(0) { $0 + $1.framer.bufferCapacity } }

    static func lastComponent(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return path }
        return String(path[path.index(after: slash)...])
    }
}

/// What one poll has gathered besides the lines, which wait in each ``FollowedFile``.
struct PollProgress {
    var forgotten: [FileIdentity] = []
    var failures: [TailError] = []
    /// Files to close at the end of the poll, after their last read is assembled.
    var finished: Set<FileIdentity> = []
}
