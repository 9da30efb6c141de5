import FileTail
import IngestEnvelope
import Logging
import Synchronization
import Testing

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// A fresh directory under /tmp, removed with its files (one level of subdirectories) on deinit.
final class TemporaryDirectory: Sendable {
    let path: String

    init() throws {
        var template = Array("/tmp/filetail-test-XXXXXX".utf8CString)
        let created = template.withUnsafeMutableBufferPointer { buffer -> UnsafeMutablePointer<CChar>? in
            guard let base = buffer.baseAddress else { return nil }
            return mkdtemp(base)
        }
        path = try #require(created.map { String(cString: $0) })
    }

    deinit { Self.remove(path) }

    /// `path/name`.
    func file(_ name: String) -> String { path + "/" + name }

    private static func remove(_ directory: String) {
        if let handle = opendir(directory) {
            while let entry = readdir(handle) {
                let name = withUnsafePointer(to: &entry.pointee.d_name) { tuple in
                    tuple.withMemoryRebound(to: CChar.self, capacity: 256) { String(cString: $0) }
                }
                if name == "." || name == ".." { continue }
                let child = directory + "/" + name
                if unlink(child) != 0 { remove(child) }
            }
            closedir(handle)
        }
        rmdir(directory)
    }
}

/// Writes like a logging process: one descriptor opened with O_APPEND, kept across renames.
final class LogWriter {
    private(set) var descriptor: Int32

    init(_ path: String) throws {
        descriptor = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o644)
        try #require(descriptor >= 0, "cannot create \(path): errno \(errno)")
    }

    deinit { close() }

    func write(_ text: String) {
        write(Array(text.utf8))
    }

    func write(_ bytes: [UInt8]) {
        var written = 0
        while written < bytes.count {
            let n = bytes.withUnsafeBytes { buffer in
                Glibc.write(descriptor, buffer.baseAddress.map { $0 + written }, bytes.count - written)
            }
            precondition(n > 0, "write failed: errno \(errno)")
            written += n
        }
    }

    func close() {
        if descriptor >= 0 { _ = Glibc.close(descriptor) }
        descriptor = -1
    }
}

/// Appends text to a file, creating it.
func append(_ path: String, _ text: String) throws {
    let writer = try LogWriter(path)
    writer.write(text)
}

/// Copies a file's bytes to a new file (what copytruncate does first).
func copyFile(_ source: String, to destination: String) throws {
    let input = open(source, O_RDONLY)
    try #require(input >= 0)
    defer { close(input) }
    let output = try LogWriter(destination)
    var buffer = [UInt8](repeating: 0, count: 65_536)
    while true {
        let n = buffer.withUnsafeMutableBytes { read(input, $0.baseAddress, $0.count) }
        guard n > 0 else { break }
        output.write(Array(buffer[..<n]))
    }
}

func renameFile(_ from: String, _ to: String) throws {
    try #require(rename(from, to) == 0, "rename failed: errno \(errno)")
}

func removeFile(_ path: String) throws {
    try #require(unlink(path) == 0, "unlink failed: errno \(errno)")
}

func truncateFile(_ path: String, to size: Int64 = 0) throws {
    try #require(truncate(path, off_t(size)) == 0, "truncate failed: errno \(errno)")
}

func fileIdentity(_ path: String) throws -> FileIdentity {
    var status = stat()
    try #require(stat(path, &status) == 0)
    return FileIdentity(device: UInt64(status.st_dev), inode: UInt64(status.st_ino))
}

/// Open descriptors of this process whose target lies in `directory` (deleted files included):
/// other tests running in parallel cannot disturb the count.
func openDescriptors(in directory: String) -> Int {
    guard let handle = opendir("/proc/self/fd") else { return -1 }
    defer { closedir(handle) }
    var count = 0
    var target = [CChar](repeating: 0, count: 4096)
    while let entry = readdir(handle) {
        let name = withUnsafePointer(to: &entry.pointee.d_name) { tuple in
            tuple.withMemoryRebound(to: CChar.self, capacity: 256) { String(cString: $0) }
        }
        let length = readlink("/proc/self/fd/" + name, &target, target.count - 1)
        guard length > 0 else { continue }
        let path = String(decoding: target[..<length].map { UInt8(bitPattern: $0) }, as: UTF8.self)
        if path.hasPrefix(directory + "/") { count += 1 }
    }
    return count
}

/// Log messages, kept for assertions.
final class LogRecorder: Sendable {
    private let entries = Mutex<[(Logger.Level, String)]>([])

    var logger: Logger {
        Logger(label: "filetail-test") { _ in RecordingHandler(recorder: self) }
    }

    func messages(atLeast level: Logger.Level) -> [String] {
        entries.withLock { $0.filter { $0.0 >= level }.map(\.1) }
    }

    fileprivate func record(_ level: Logger.Level, _ message: String) {
        entries.withLock { $0.append((level, message)) }
    }
}

private struct RecordingHandler: LogHandler {
    let recorder: LogRecorder
    var metadata: Logger.Metadata = [:]
    var logLevel: Logger.Level = .trace

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        recorder.record(event.level, event.message.description)
    }
}

/// Collects what a follower hands out, as the lead's caller does: lines per file identity and
/// the checkpoint table (identity → checkpoint, rows of forgotten files deleted).
struct Collected {
    var lines: [String] = []
    var linesByFile: [FileIdentity: [String]] = [:]
    var endOffsets: [FileIdentity: [Int64]] = [:]
    var overLong: [TailLine] = []
    var checkpoints: [FileIdentity: FilePosition] = [:]
    var forgotten: [FileIdentity] = []
    var polls = 0

    /// Applies one poll; checks that offsets only grow within a read and end at its checkpoint.
    mutating func apply(_ outcome: TailPoll) {
        polls += 1
        for read in outcome.reads {
            var previous: Int64 = -1
            for line in read.lines {
                #expect(line.endOffset > previous, "end offsets must grow within a read")
                previous = line.endOffset
                if line.overLongLength != nil { overLong.append(line) }
                let text = String(decoding: line.bytes, as: UTF8.self)
                lines.append(text)
                linesByFile[read.file.identity, default: []].append(text)
                endOffsets[read.file.identity, default: []].append(line.endOffset)
            }
            if let last = read.lines.last { #expect(last.endOffset == read.file.offset) }
            checkpoints[read.file.identity] = read.file
        }
        for identity in outcome.forgotten {
            checkpoints[identity] = nil
            forgotten.append(identity)
        }
    }

    /// Polls until a poll hands out nothing and no file is being drained (at most `limit`
    /// polls; tests that drain use a drain grace time of 0).
    mutating func pollUntilQuiet(_ follower: FileFollower, limit: Int = 100) throws {
        for _ in 0..<limit {
            let outcome = try follower.poll()
            apply(outcome)
            if outcome.isEmpty && follower.drainingFileCount == 0 && !follower.hasUnreadBytes { return }
        }
        Issue.record("follower never went quiet")
    }
}

/// A silent logger for tests that do not look at messages.
let quietLogger = Logger(label: "filetail-test") { _ in SwiftLogNoOpLogHandler() }

/// `count` numbered lines with a tag, each ending in `\n`.
func numberedLines(_ tag: String, _ range: Range<Int>) -> [String] {
    range.map { "\(tag)-\($0)" }
}

func joinedLines(_ lines: [String]) -> String {
    lines.map { $0 + "\n" }.joined()
}

/// CLOCK_MONOTONIC in seconds.
func monotonicNow() -> Double {
    var now = timespec()
    clock_gettime(CLOCK_MONOTONIC, &now)
    return Double(now.tv_sec) + Double(now.tv_nsec) / 1_000_000_000
}
