#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// Where log lines go and in which form; shared by every logger writing to the same descriptor.
///
/// Each line is written under a lock with as few write(2) calls as the kernel allows (one,
/// unless it accepts only part), so lines from different threads never interleave.
public final class LogOutput: @unchecked Sendable {
    // @unchecked: the only mutable state is behind `lock`; the rest is immutable.

    /// How lines are shaped.
    public enum Style: Sendable, Equatable {
        /// For journald: `<6>label: message key=value`; the journal adds time and host.
        case journal
        /// For terminals and files: `2025-01-31T12:00:00.000Z info label: message key=value`.
        case plain
    }

    /// The descriptor lines are written to; not closed by this object.
    public let fileDescriptor: Int32
    /// The shape of each line.
    public let style: Style

    private let lock = WriteLock()

    /// Lines to `fileDescriptor` in `style`.
    public init(fileDescriptor: Int32, style: Style) {
        self.fileDescriptor = fileDescriptor
        self.style = style
    }

    /// Standard error, in journal style when systemd connected it to the journal.
    public static let standardError = LogOutput.detecting()

    /// `fileDescriptor`, in journal style when `JOURNAL_STREAM` names it.
    /// - Parameter environment: where to read `JOURNAL_STREAM`; the process environment when `nil`.
    public static func detecting(fileDescriptor: Int32 = STDERR_FILENO, environment: [String: String]? = nil)
        -> LogOutput
    {
        let values = environment ?? ProcessEnvironment.values(for: ["JOURNAL_STREAM"])
        let connected =
            values["JOURNAL_STREAM"].map { isJournalStream(fileDescriptor: fileDescriptor, journalStream: $0) } ?? false
        return LogOutput(fileDescriptor: fileDescriptor, style: connected ? .journal : .plain)
    }

    /// True when `journalStream` (`JOURNAL_STREAM`, "device:inode") names the file behind
    /// `fileDescriptor`. systemd.exec(5) asks programs to compare rather than trust the
    /// variable: it is inherited by children whose stderr may have been redirected elsewhere.
    public static func isJournalStream(fileDescriptor: Int32, journalStream: String) -> Bool {
        let parts = journalStream.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 2, let device = UInt64(parts[0]), let inode = UInt64(parts[1]) else { return false }
        var status = stat()
        guard fstat(fileDescriptor, &status) == 0 else { return false }
        return UInt64(status.st_dev) == device && UInt64(status.st_ino) == inode
    }

    /// Writes one complete line (which must end in a newline). Failures are dropped: there is
    /// nowhere left to report them.
    func write(line: [UInt8]) {
        lock.withLock {
            line.withUnsafeBytes { bytes in
                var offset = 0
                while offset < bytes.count {
                    let written = systemWrite(
                        fileDescriptor, bytes.baseAddress.map { $0 + offset }, bytes.count - offset)
                    if written > 0 {
                        offset += written
                    } else if written < 0, errno == EINTR {
                        continue
                    } else if written < 0, errno == EAGAIN || errno == EWOULDBLOCK, waitUntilWritable() {
                        continue
                    } else {
                        return
                    }
                }
            }
        }
    }

    // stderr may have been made non-blocking by someone else; wait briefly rather than lose the line.
    private func waitUntilWritable() -> Bool {
        var request = pollfd(fd: fileDescriptor, events: Int16(POLLOUT), revents: 0)
        return poll(&request, 1, 1_000) > 0
    }
}

// Inside LogOutput, `write` names the method; this reaches write(2).
@inline(__always)
private func systemWrite(_ fd: Int32, _ buffer: UnsafeRawPointer?, _ count: Int) -> Int {
    write(fd, buffer, count)
}

/// A pthread mutex, because Synchronization.Mutex needs macOS 15 and the package declares 14.
private final class WriteLock: @unchecked Sendable {
    private let mutex: UnsafeMutablePointer<pthread_mutex_t>

    init() {
        mutex = .allocate(capacity: 1)
        mutex.initialize(to: pthread_mutex_t())
        pthread_mutex_init(mutex, nil)
    }

    deinit {
        pthread_mutex_destroy(mutex)
        mutex.deinitialize(count: 1)
        mutex.deallocate()
    }

    func withLock<Result>(_ body: () -> Result) -> Result {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return body()
    }
}
