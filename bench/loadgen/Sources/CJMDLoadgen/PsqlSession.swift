import Foundation
import Glibc

/// One long-lived `psql` process used as a query channel: a statement goes to its standard
/// input and its one-line answer comes back on standard output (psql flushes after each
/// statement). One connection, no process start per query, and no libpq build dependency.
final class PsqlSession: @unchecked Sendable {
    private let process = Process()
    private let input = Pipe()
    private let output = Pipe()
    private var pending: [UInt8] = []

    init(psql: String, conninfo: String) throws(LoadgenError) {
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [psql, "-X", "-A", "-t", "-q", "-v", "ON_ERROR_STOP=1", "-d", conninfo]
        process.standardInput = input
        process.standardOutput = output
        do {
            try process.run()
        } catch {
            throw .psql("cannot start \(psql): \(error)")
        }
    }

    /// Runs one statement that returns one row of one column; returns its text.
    func value(_ statement: String) throws(LoadgenError) -> String {
        let text = statement.hasSuffix(";") ? statement + "\n" : statement + ";\n"
        do {
            try input.fileHandleForWriting.write(contentsOf: Data(text.utf8))
        } catch {
            throw .psql("psql stopped (\(error)); see the message above")
        }
        return try readLine()
    }

    private func readLine() throws(LoadgenError) -> String {
        let descriptor = output.fileHandleForReading.fileDescriptor
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            if let newline = pending.firstIndex(of: UInt8(ascii: "\n")) {
                let line = String(decoding: pending[..<newline], as: UTF8.self)
                pending.removeSubrange(...newline)
                return line
            }
            let count = chunk.withUnsafeMutableBytes { Glibc.read(descriptor, $0.baseAddress, $0.count) }
            if count < 0 && errno == EINTR { continue }
            guard count > 0 else { throw .psql("psql ended without an answer; see the message above") }
            pending.append(contentsOf: chunk[0..<count])
        }
    }

    /// Ends psql.
    func close() {
        try? input.fileHandleForWriting.close()
        process.waitUntilExit()
    }
}
