/// Why the load generator stopped; each message says what to check.
enum LoadgenError: Error, CustomStringConvertible {
    case usage(String)
    case connect(endpoint: String, errno: Int32)
    case socket(operation: String, errno: Int32)
    case connectionClosed(detail: String)
    case ackTimeout(sent: Int, acked: Int, seconds: Double)
    case psql(String)

    var description: String {
        switch self {
        case .usage(let message):
            return "\(message)\n\(Options.usageText)"
        case .connect(let endpoint, let code):
            return "cannot connect to \(endpoint): \(errorText(code)); is `cjmd run` listening there?"
        case .socket(let operation, let code):
            return "socket \(operation) failed: \(errorText(code))"
        case .connectionClosed(let detail):
            return "the daemon closed the connection (\(detail)); see its log"
        case .ackTimeout(let sent, let acked, let seconds):
            return "only \(acked) of \(sent) lines acknowledged after \(Int(seconds)) s; is the daemon committing (database up)?"
        case .psql(let message):
            return "psql: \(message)"
        }
    }
}
