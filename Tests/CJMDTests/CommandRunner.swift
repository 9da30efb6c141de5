import Foundation
import Testing

/// Runs the `cjmd` binary built next to the test bundle and captures what it says.
struct CommandRunner {
    struct Result {
        var status: Int32
        var stdout: String
        var stderr: String
    }

    static var binary: URL {
        // The test bundle (…/debug/cjmdPackageTests.xctest) sits beside the executable.
        URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("cjmd")
    }

    /// Runs `cjmd` with `arguments` to its exit. Standard output and error are files, not
    /// pipes: with pipes, a child that fills one (64 KiB) while the test waits on another — a
    /// replay logging many alerts to stderr before the test reads it — would block both for
    /// good. `stdin` goes through a pipe, as `… | cjmd replay -` does, written by a thread
    /// of its own for the same reason.
    static func run(_ arguments: [String], stdin: Data? = nil) throws -> Result {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("cjmd-run-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        func file(_ name: String, _ contents: Data) throws -> FileHandle {
            let url = directory.appendingPathComponent(name)
            _ = FileManager.default.createFile(atPath: url.path, contents: contents)
            return try FileHandle(forUpdating: url)
        }
        let out = try file("stdout", Data())
        let err = try file("stderr", Data())
        defer {
            try? out.close()
            try? err.close()
        }
        let input = Pipe()
        let process = Process()
        process.executableURL = binary
        process.arguments = arguments
        process.standardInput = input
        process.standardOutput = out
        process.standardError = err
        _ = ignoringBrokenPipes
        try process.run()
        // Only the child reads the pipe: should it exit without reading everything, the
        // write fails (EPIPE) instead of waiting for a reader that never comes.
        try? input.fileHandleForReading.close()
        let writer = input.fileHandleForWriting
        let written = DispatchSemaphore(value: 0)
        Thread.detachNewThread {
            // Closing tells a reading child that the input ended.
            if let stdin { try? writer.write(contentsOf: stdin) }
            try? writer.close()
            written.signal()
        }
        process.waitUntilExit()
        written.wait()
        let stdout = try Data(contentsOf: directory.appendingPathComponent("stdout"))
        let stderr = try Data(contentsOf: directory.appendingPathComponent("stderr"))
        return Result(
            status: process.terminationStatus, stdout: String(decoding: stdout, as: UTF8.self),
            stderr: String(decoding: stderr, as: UTF8.self))
    }

    /// A write to a pipe whose reader is gone fails with EPIPE instead of killing the tests.
    private static let ignoringBrokenPipes: Void = {
        signal(SIGPIPE, SIG_IGN)
        return ()
    }()

    /// Writes `text` to a new temporary file and returns its path.
    static func temporaryFile(_ text: String, suffix: String = ".yaml") -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent(
            "cjmd-cli-\(UUID().uuidString)\(suffix)"
        ).path
        _ = FileManager.default.createFile(atPath: path, contents: Data(text.utf8))
        return path
    }

    static func configuration(databaseURL: String) -> String {
        """
        database:
          url: "\(databaseURL.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\""))"
        journeys:
          - name: shop
            conversion_window: 7d
            stages:
              - name: visit
                events: [visit, "landing_*"]
                abandon_after: 1d
              - name: cart
                events: [add_to_cart]
              - name: buy
                events: [buy]
            critical:
              events: [payment_failed]
        """
    }
}
