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

    /// Runs `cjmd` with `arguments` to its exit. Standard input, output and error are files,
    /// not pipes: with pipes, a child that fills one (64 KiB) while the test waits on
    /// another — a replay logging many alerts to stderr before the test reads it — would
    /// block both for good.
    static func run(_ arguments: [String], stdin: Data? = nil) throws -> Result {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("cjmd-run-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        func file(_ name: String, _ contents: Data) throws -> FileHandle {
            let url = directory.appendingPathComponent(name)
            _ = FileManager.default.createFile(atPath: url.path, contents: contents)
            return try FileHandle(forUpdating: url)
        }
        let input = try file("stdin", stdin ?? Data()), out = try file("stdout", Data()), err = try file("stderr", Data())
        defer { try? input.close(); try? out.close(); try? err.close() }
        let process = Process()
        process.executableURL = binary
        process.arguments = arguments
        process.standardInput = input
        process.standardOutput = out
        process.standardError = err
        try process.run()
        process.waitUntilExit()
        let stdout = try Data(contentsOf: directory.appendingPathComponent("stdout"))
        let stderr = try Data(contentsOf: directory.appendingPathComponent("stderr"))
        return Result(status: process.terminationStatus, stdout: String(decoding: stdout, as: UTF8.self),
                      stderr: String(decoding: stderr, as: UTF8.self))
    }

    /// Writes `text` to a new temporary file and returns its path.
    static func temporaryFile(_ text: String, suffix: String = ".yaml") -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("cjmd-cli-\(UUID().uuidString)\(suffix)").path
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
