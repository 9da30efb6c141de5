/// The local `host:port` the metrics endpoint listens on.
public struct MetricsListenAddress: Sendable, Hashable, CustomStringConvertible {
    /// The default: Prometheus' conventional exporter port on IPv4 loopback.
    public static let `default` = MetricsListenAddress(host: "127.0.0.1", port: 9464)

    /// A host name or IP address, without IPv6 brackets.
    public var host: String
    /// The TCP port; 0 asks the system for a free one (see ``MetricsHTTPServer/port``).
    public var port: Int

    /// Creates an address from its parts.
    public init(host: String, port: Int) {
        self.host = host
        self.port = port
    }

    /// Parses `host:port`, `[ipv6]:port` — the form of the `service.metrics_listen` key.
    ///
    /// - Throws: ``MetricsServerError/invalidListenAddress(_:reason:)`` naming the problem.
    public init(parsing text: String) throws(MetricsServerError) {
        let hostPart: Substring
        let portPart: Substring
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]"), text[close...].hasPrefix("]:") else {
                throw .invalidListenAddress(text, reason: "an IPv6 address is written [address]:port, e.g. [::1]:9464")
            }
            hostPart = text[text.index(after: text.startIndex)..<close]
            portPart = text[text.index(close, offsetBy: 2)...]
        } else {
            guard let colon = text.lastIndex(of: ":") else {
                throw .invalidListenAddress(text, reason: "expected host:port such as 127.0.0.1:9464")
            }
            hostPart = text[..<colon]
            portPart = text[text.index(after: colon)...]
            if hostPart.contains(":") {
                throw .invalidListenAddress(text, reason: "an IPv6 address must be in brackets, e.g. [::1]:9464")
            }
        }
        guard !hostPart.isEmpty else {
            throw .invalidListenAddress(text, reason: "the host is missing; expected host:port such as 127.0.0.1:9464")
        }
        guard portPart.count <= 5, portPart.allSatisfy({ $0.isASCII && $0.isNumber }),
            let port = Int(portPart), (0...65535).contains(port)
        else {
            throw .invalidListenAddress(text, reason: "the port must be a number from 0 to 65535")
        }
        self.init(host: String(hostPart), port: port)
    }

    /// `host:port`, with brackets around an IPv6 host.
    public var description: String {
        host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
    }
}
