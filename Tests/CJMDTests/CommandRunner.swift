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

    static func run(_ arguments: [String], stdin: Data? = nil) throws -> Result {
        let process = Process()
        process.executableURL = binary
        process.arguments = arguments
        let out = Pipe(), err = Pipe(), input = Pipe()
        process.standardOutput = out
        process.standardError = err
        process.standardInput = input
        try process.run()
        if let stdin { input.fileHandleForWriting.write(stdin) }
        try input.fileHandleForWriting.close()
        // Read before waiting, so a full pipe cannot block the child.
        let stdout = out.fileHandleForReading.readDataToEndOfFile()
        let stderr = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
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
