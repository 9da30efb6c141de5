import IngestEnvelope

/// One complete line read from a followed file.
public struct TailLine: Sendable {
    /// The line without its `\n` and without one `\r` before it. For an over-long line, only
    /// its first `maxLineBytes` bytes (the raw bytes to dead-letter).
    public var bytes: [UInt8]
    /// Non-nil when the line was longer than `maxLineBytes`: its full length, line ending
    /// excluded. The bytes beyond ``bytes`` were skipped without being buffered.
    public var overLongLength: Int64?
    /// The file offset just past this line's `\n`: committing it means "this line is done".
    public var endOffset: Int64

    /// Creates a line (for tests of code that consumes ``TailRead``).
    public init(bytes: [UInt8], overLongLength: Int64? = nil, endOffset: Int64) {
        self.bytes = bytes
        self.overLongLength = overLongLength
        self.endOffset = endOffset
    }
}

/// The lines read from one file in one ``FileFollower/poll()``.
public struct TailRead: Sendable {
    /// The file's checkpoint after these lines: its offset is just past the last line in
    /// ``lines`` (or where the file was opened, if there are none), a safe place to resume.
    public var file: FilePosition
    /// The complete lines, in file order. Empty when only the checkpoint moved: the file was
    /// opened at an offset, restarted at 0 after a truncation, renamed, or its fingerprint grew.
    public var lines: [TailLine]

    /// Creates a read (for tests of code that consumes ``TailPoll``).
    public init(file: FilePosition, lines: [TailLine]) {
        self.file = file
        self.lines = lines
    }
}

/// The outcome of one ``FileFollower/poll()``.
///
/// Apply it in this order: store each read's lines with its checkpoint, then delete the
/// checkpoints of ``forgotten`` files (a file can have a last read and be forgotten in the
/// same poll).
public struct TailPoll: Sendable {
    /// One entry per file that produced lines or whose checkpoint changed, in reading order.
    public var reads: [TailRead]
    /// Files dropped for good: rotated away or deleted and drained to their end, or stored
    /// checkpoints whose file no longer exists. Their checkpoint rows can be deleted.
    public var forgotten: [FileIdentity]
    /// Files that could not be opened or read in this poll (they are retried at every poll and
    /// each problem is logged once). Useful for health reporting; nothing was lost.
    public var failures: [TailError]

    /// Creates a poll outcome (for tests of code that consumes it).
    public init(reads: [TailRead], forgotten: [FileIdentity], failures: [TailError] = []) {
        self.reads = reads
        self.forgotten = forgotten
        self.failures = failures
    }

    /// Whether nothing happened: no read, nothing forgotten.
    public var isEmpty: Bool { reads.isEmpty && forgotten.isEmpty }
}
