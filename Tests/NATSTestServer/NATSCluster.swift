import Foundation
import NATSClient

/// Three real `nats-server`s on loopback forming one JetStream cluster (streams of 3
/// replicas survive one node lost), for the fault tests of docs/scaling.md.
public final class NATSCluster: @unchecked Sendable {
    public let nodes: [NATSServerProcess]
    /// Each node's `server_name`.
    public let names: [String]

    public var urls: [String] { nodes.map(\.url) }

    public init(size: Int = 3) throws {
        let clientPorts = (0..<size).map { _ in freeLoopbackPort() }
        let routePorts = (0..<size).map { _ in freeLoopbackPort() }
        let tag = String(UInt32.random(in: 0...UInt32.max), radix: 36)
        let names = (0..<size).map { "cjm-\(tag)-\($0)" }
        self.names = names
        let routes = routePorts.map { "nats-route://127.0.0.1:\($0)" }.joined(separator: ", ")
        nodes = try (0..<size).map { index in
            try NATSServerProcess(
                extraConfiguration: """
                    server_name: \(names[index])
                    cluster { name: cjm-test-\(tag), listen: 127.0.0.1:\(routePorts[index]), routes: [\(routes)] }
                    """, port: clientPorts[index], waitsUntilReachable: false)
        }
        for node in nodes { try node.waitUntilReachable() }
        try waitForJetStream()
    }

    /// The node of `serverName`.
    public func node(named serverName: String) -> NATSServerProcess? {
        names.firstIndex(of: serverName).map { nodes[$0] }
    }

    /// Waits (up to 30 s) until the cluster has elected its JetStream meta leader: a stream
    /// lookup is answered (with "not found") instead of failing.
    public func waitForJetStream() throws {
        var lastError: NATSError?
        let deadline = Date().addingTimeInterval(30)
        while Date() < deadline {
            do {
                let connection = try NATSConnection(servers: urls, name: "cjm-test-probe", timeoutMilliseconds: 500)
                _ = try connection.jetStream().streamMessages("CJM_PROBE")
                return
            } catch {
                lastError = error
            }
            usleep(200_000)
        }
        throw NATSServerProcess.StartFailure(
            detail: "JetStream of the cluster not ready after 30 s: \(lastError.map(String.init(describing:)) ?? "")")
    }
}
