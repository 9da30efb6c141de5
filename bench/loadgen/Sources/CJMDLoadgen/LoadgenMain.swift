import Foundation
import Glibc

/// The load generator of bench/run: see ``Options/usageText``.
@main
enum LoadgenMain {
    static func main() {
        // A closed connection must surface as an error from write(2), not kill the process.
        signal(SIGPIPE, SIG_IGN)
        do {
            let options = try Options(arguments: Array(CommandLine.arguments.dropFirst()),
                                      defaultTag: "b\(Int(Date().timeIntervalSince1970))")
            switch options.mode {
            case .live: try LiveRun(options: options).run()
            case .open: try OpenRun(options: options).run()
            case .soak: try SoakRun(options: options).run()
            }
        } catch {
            FileHandle.standardError.write(Data("cjmd-loadgen: \(error)\n".utf8))
            exit(error.isUsage ? 64 : 1)
        }
    }
}

extension LoadgenError {
    var isUsage: Bool {
        if case .usage = self { return true }
        return false
    }
}
