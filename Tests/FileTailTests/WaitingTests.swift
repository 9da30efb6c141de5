import FileTail
import Testing

#if canImport(Glibc)
    import Glibc
#endif

@Suite("Waiting for changes and errors")
struct WaitingTests {
    @Test("with inotify, waitForChanges wakes up on an append long before its timeout")
    func wakesOnAppend() throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("events.ndjson")
        try append(path, "first\n")
        let follower = FileFollower(
            pattern: path, startAtBeginning: true, checkpoints: [], maxLineBytes: 1024, logger: quietLogger)
        defer { follower.close() }
        var collected = Collected()
        try collected.pollUntilQuiet(follower)
        try #require(follower.usesInotify, "inotify is available on Linux test machines")

        let thread = try BackgroundThread {
            sleepSeconds(0.2)
            try? append(path, "second\n")
        }
        let started = monotonicNow()
        follower.waitForChanges(timeoutSeconds: 30)
        let waited = monotonicNow() - started
        thread.join()
        #expect(waited < 15, "woken by the append, not by the 30 s timeout")
        #expect(waited >= 0.15, "not before the append (written after 0.2 s)")
        try collected.pollUntilQuiet(follower)
        #expect(collected.lines == ["first", "second"])
    }

    @Test("with inotify, writes to files that do not match do not end the wait")
    func ignoresOtherFiles() throws {
        let directory = try TemporaryDirectory()
        let follower = FileFollower(
            pattern: directory.file("*.ndjson"), startAtBeginning: true, checkpoints: [],
            maxLineBytes: 1024, logger: quietLogger)
        defer { follower.close() }
        _ = try follower.poll()
        try #require(follower.usesInotify)
        let thread = try BackgroundThread {
            try? append(directory.file("other.log"), "noise\n")
        }
        thread.join()
        let started = monotonicNow()
        follower.waitForChanges(timeoutSeconds: 0.3)
        #expect(monotonicNow() - started >= 0.25)
    }

    @Test("a missing directory is no error; its files are picked up once it exists")
    func missingDirectory() throws {
        let directory = try TemporaryDirectory()
        let subdirectory = directory.file("later")
        let recorder = LogRecorder()
        let follower = FileFollower(
            pattern: subdirectory + "/*.ndjson", startAtBeginning: false, checkpoints: [],
            maxLineBytes: 1024, logger: recorder.logger)
        defer { follower.close() }
        #expect(try follower.poll().isEmpty)
        #expect(!follower.usesInotify, "nothing to watch yet")
        #expect(recorder.messages(atLeast: .warning).contains { $0.contains("does not exist") })
        try #require(mkdir(subdirectory, 0o755) == 0)
        try append(subdirectory + "/x.ndjson", "x-0\n")
        var collected = Collected()
        try collected.pollUntilQuiet(follower)
        #expect(collected.lines == ["x-0"], "files that appear after the first poll are read from 0")
        #expect(follower.usesInotify)
    }

    @Test("an unreadable directory is a typed error that says what to check")
    func unreadableDirectory() throws {
        let directory = try TemporaryDirectory()
        let notADirectory = directory.file("plain-file")
        try append(notADirectory, "")
        let follower = FileFollower(
            pattern: notADirectory + "/*.ndjson", startAtBeginning: true, checkpoints: [],
            maxLineBytes: 1024, logger: quietLogger)
        defer { follower.close() }
        #expect {
            _ = try follower.poll()
        } throws: { error in
            guard let tail = error as? TailError else { return false }
            return tail.problem == .directoryUnreadable && tail.path == notADirectory
                && tail.description.contains("check")
        }
    }

    @Test("an empty pattern is rejected with advice")
    func invalidPattern() {
        let follower = FileFollower(
            pattern: "", startAtBeginning: true, checkpoints: [], maxLineBytes: 1024, logger: quietLogger)
        defer { follower.close() }
        #expect(throws: TailError(.invalidPattern, path: "")) { _ = try follower.poll() }
    }

    @Test("a glob in the directory part is expanded at every poll")
    func directoryGlob() throws {
        let directory = try TemporaryDirectory()
        for name in ["app1", "app2"] {
            try #require(mkdir(directory.file(name), 0o755) == 0)
            try append(directory.file(name) + "/events.ndjson", "\(name)-0\n")
        }
        let follower = FileFollower(
            pattern: directory.path + "/app*/events.ndjson", startAtBeginning: true, checkpoints: [],
            maxLineBytes: 1024, logger: quietLogger)
        defer { follower.close() }
        var collected = Collected()
        try collected.pollUntilQuiet(follower)
        #expect(collected.lines.sorted() == ["app1-0", "app2-0"])
        try #require(mkdir(directory.file("app3"), 0o755) == 0)
        try append(directory.file("app3") + "/events.ndjson", "app3-0\n")
        try collected.pollUntilQuiet(follower)
        #expect(collected.lines.sorted() == ["app1-0", "app2-0", "app3-0"])
    }

    @Test("no descriptor leaks across rotation, truncation, deletion and close")
    func noDescriptorLeak() throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("events.ndjson")
        let follower = FileFollower(
            pattern: directory.file("*.ndjson*"), startAtBeginning: true, checkpoints: [],
            maxLineBytes: 1024, logger: quietLogger, drainGraceSeconds: 0)
        var collected = Collected()
        for round in 0..<20 {
            try append(path, "r\(round)\n")
            try collected.pollUntilQuiet(follower)
            switch round % 4 {
            case 0: try renameFile(path, directory.file("events.ndjson.\(round)"))
            case 1: try truncateFile(path)
            case 2: try removeFile(path)
            default: try renameFile(path, directory.file("moved-\(round)"))
            }
            try collected.pollUntilQuiet(follower)
            #expect(openDescriptors(in: directory.path) == follower.openFileCount)
        }
        follower.close()
        #expect(openDescriptors(in: directory.path) == 0)
        #expect(collected.lines == (0..<20).map { "r\($0)" })
    }
}

/// A POSIX thread running one closure: the waits under test block their thread, so the
/// writer must not depend on the cooperative pool.
final class BackgroundThread {
    private var thread: pthread_t

    init(_ body: @escaping @Sendable () -> Void) throws {
        let box = Unmanaged.passRetained(ClosureBox(body)).toOpaque()
        var created = pthread_t()
        let result = pthread_create(
            &created, nil,
            { argument in
                guard let argument else { return nil }
                let box = Unmanaged<ClosureBox>.fromOpaque(argument).takeRetainedValue()
                box.body()
                return nil
            }, box)
        if result != 0 { Unmanaged<ClosureBox>.fromOpaque(box).release() }
        try #require(result == 0)
        thread = created
    }

    func join() {
        pthread_join(thread, nil)
    }
}

private final class ClosureBox: Sendable {
    let body: @Sendable () -> Void
    init(_ body: @escaping @Sendable () -> Void) { self.body = body }
}

func sleepSeconds(_ seconds: Double) {
    var request = timespec(tv_sec: Int(seconds), tv_nsec: Int((seconds - Double(Int(seconds))) * 1e9))
    var remaining = timespec()
    while nanosleep(&request, &remaining) != 0 { request = remaining }
}
