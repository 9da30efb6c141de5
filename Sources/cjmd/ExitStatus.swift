import ArgumentParser

/// Exit codes of docs/cli.md (the sysexits.h values).
enum ExitStatus {
    static let usage = ExitCode(64)
    static let dataError = ExitCode(65)
    static let noInput = ExitCode(66)
    static let unavailable = ExitCode(69)
    static let configuration = ExitCode(78)
}
