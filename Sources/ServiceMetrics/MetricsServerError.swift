/// Why the metrics endpoint could not start.
public enum MetricsServerError: Error, Sendable, Equatable, CustomStringConvertible {
    /// `service.metrics_listen` is not a usable `host:port`.
    case invalidListenAddress(String, reason: String)
    /// Binding failed, typically because another process holds the port.
    case bindFailed(address: MetricsListenAddress, underlying: String)
    /// ``MetricsHTTPServer/run()`` was called a second time; a server runs once.
    case alreadyRunning

    /// A sentence for the log that says what to change.
    public var description: String {
        switch self {
        case .invalidListenAddress(let text, let reason):
            return "metrics_listen \"\(text)\" is invalid: \(reason)"
        case .bindFailed(let address, let underlying):
            return "cannot listen for metrics on \(address): \(underlying); "
                + "choose a free port in service.metrics_listen or set it to off"
        case .alreadyRunning:
            return "the metrics server is already running; create a new server to serve again"
        }
    }
}
