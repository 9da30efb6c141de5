import IngestEnvelope

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// What ``FileFollower`` needs from `stat(2)`.
struct FileStatus: Equatable {
    var identity: FileIdentity
    var size: Int64
    var linkCount: UInt64
    var isRegularFile: Bool
    /// Modification and status-change times in nanoseconds: with the size, they tell whether
    /// the first bytes need checking again.
    var modifiedNanoseconds: Int64
    var changedNanoseconds: Int64

    init(_ raw: stat) {
        identity = FileIdentity(device: UInt64(raw.st_dev), inode: UInt64(raw.st_ino))
        size = Int64(raw.st_size)
        linkCount = UInt64(raw.st_nlink)
        isRegularFile = (raw.st_mode & S_IFMT) == S_IFREG
        modifiedNanoseconds = Int64(raw.st_mtim.tv_sec) &* 1_000_000_000 &+ Int64(raw.st_mtim.tv_nsec)
        changedNanoseconds = Int64(raw.st_ctim.tv_sec) &* 1_000_000_000 &+ Int64(raw.st_ctim.tv_nsec)
    }

    /// `stat(2)` of `path` (symbolic links followed); the errno on failure.
    static func of(path: String) -> Result<FileStatus, SystemError> {
        var raw = stat()
        guard stat(path, &raw) == 0 else { return .failure(SystemError(errno)) }
        return .success(FileStatus(raw))
    }

    /// `fstat(2)` of an open descriptor; the errno on failure.
    static func of(descriptor: Int32) -> Result<FileStatus, SystemError> {
        var raw = stat()
        guard fstat(descriptor, &raw) == 0 else { return .failure(SystemError(errno)) }
        return .success(FileStatus(raw))
    }
}

/// An errno captured right after a failed call.
struct SystemError: Error {
    var code: Int32
    init(_ code: Int32) { self.code = code }
}

/// Reads up to `count` bytes at `offset`, retrying on EINTR; the number read (0 at end of file).
func readBytes(_ descriptor: Int32, into buffer: UnsafeMutableRawPointer, count: Int, at offset: Int64) -> Result<
    Int, SystemError
> {
    while true {
        let n = pread(descriptor, buffer, count, off_t(offset))
        if n >= 0 { return .success(n) }
        if errno != EINTR { return .failure(SystemError(errno)) }
    }
}

/// Reads a file's first bytes, at most ``ContentFingerprint/maximumLength`` of them.
func readHead(_ descriptor: Int32) -> Result<[UInt8], SystemError> {
    var head = [UInt8](repeating: 0, count: ContentFingerprint.maximumLength)
    var filled = 0
    while filled < head.count {
        let outcome = head.withUnsafeMutableBytes { bytes -> Result<Int, SystemError> in
            guard let base = bytes.baseAddress else { return .success(0) }
            return readBytes(descriptor, into: base + filled, count: bytes.count - filled, at: Int64(filled))
        }
        switch outcome {
        case .failure(let error): return .failure(error)
        case .success(0):
            head.removeLast(head.count - filled)
            return .success(head)
        case .success(let n): filled += n
        }
    }
    return .success(head)
}

/// Opens a file for reading only, without becoming its controlling terminal or leaking it
/// into child processes.
func openForReading(_ path: String) -> Result<Int32, SystemError> {
    while true {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK)
        if descriptor >= 0 { return .success(descriptor) }
        if errno != EINTR { return .failure(SystemError(errno)) }
    }
}

/// CLOCK_MONOTONIC in seconds.
func monotonicSeconds() -> Double {
    var now = timespec()
    clock_gettime(CLOCK_MONOTONIC, &now)
    return Double(now.tv_sec) + Double(now.tv_nsec) / 1_000_000_000
}

/// Sleeps for `seconds`, resuming after signals.
func sleepSeconds(_ seconds: Double) {
    guard seconds > 0 else { return }
    var request = timespec(tv_sec: Int(seconds), tv_nsec: Int((seconds - Double(Int(seconds))) * 1_000_000_000))
    var remaining = timespec()
    while nanosleep(&request, &remaining) != 0 && errno == EINTR {
        request = remaining
    }
}

/// `close(2)`, callable from types that have a `close()` method of their own.
func closeDescriptor(_ descriptor: Int32) {
    _ = close(descriptor)
}

/// Waits up to `milliseconds` for `descriptor` to become readable: 1 if it is, 0 on timeout,
/// -1 on error (errno set). Callable from types that have a `poll()` method of their own.
func waitUntilReadable(_ descriptor: Int32, milliseconds: Int32) -> Int32 {
    var request = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
    return poll(&request, 1, milliseconds)
}
