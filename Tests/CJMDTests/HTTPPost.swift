import Foundation

/// One HTTP request sent by curl (a real client, as the SDKs' `requests` is), and its answer.
struct HTTPPost {
    struct Answer {
        var status: Int
        var body: String
        var headers: String
    }

    /// POSTs `body` to `url` with `headers` (`Name: value`); `gzip` compresses the body first
    /// (with gzip(1)) and says so in `Content-Encoding`.
    static func send(
        _ url: String, body: Data, headers: [String] = [], gzip: Bool = false, user: String? = nil,
        extraArguments: [String] = [], expectContinue: Bool = false
    ) throws -> Answer {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("cjmd-http-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let bodyFile = directory.appendingPathComponent("body")
        try (gzip ? try compress(body) : body).write(to: bodyFile)
        let answerFile = directory.appendingPathComponent("answer")
        let headersFile = directory.appendingPathComponent("headers")
        var arguments = [
            "-s", "-S", "-o", answerFile.path, "-D", headersFile.path, "-w", "%{http_code}", "-X", "POST",
            "--data-binary", "@\(bodyFile.path)", "-H", "Content-Type: application/json", "-H",
            expectContinue ? "Expect: 100-continue" : "Expect:",
            "--max-time", "30",
        ]
        if gzip { arguments += ["-H", "Content-Encoding: gzip"] }
        for header in headers { arguments += ["-H", header] }
        if let user { arguments += ["-u", "\(user):"] }
        arguments += extraArguments
        arguments.append(url)
        let output = try run("/usr/bin/curl", arguments)
        return Answer(
            status: Int(output) ?? 0,
            body: (try? String(contentsOf: answerFile, encoding: .utf8)) ?? "",
            headers: (try? String(contentsOf: headersFile, encoding: .utf8)) ?? "")
    }

    static func compress(_ data: Data) throws -> Data {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/gzip")
        process.arguments = ["-c"]
        let input = Pipe()
        let output = Pipe()
        process.standardInput = input
        process.standardOutput = output
        try process.run()
        let writer = Thread {
            input.fileHandleForWriting.write(data)
            try? input.fileHandleForWriting.close()
        }
        writer.start()
        let compressed = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return compressed
    }

    private static func run(_ path: String, _ arguments: [String]) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = arguments
        let output = Pipe()
        process.standardOutput = output
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return String(decoding: data, as: UTF8.self)
    }
}
