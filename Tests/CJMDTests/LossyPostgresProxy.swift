import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// A Unix-socket proxy in front of the test cluster that can lose a COMMIT's reply: once
/// armed with a marker, it watches what clients send; after the marker, it forwards the next
/// message containing `COMMIT` to the server, waits for the server to carry it out, and then
/// cuts both connections without relaying the answer. The client cannot tell whether its
/// transaction committed — the case a retry must not turn into a second copy.
final class LossyPostgresProxy: @unchecked Sendable {
    /// Directory and port for libpq: it connects to `<directory>/.s.PGSQL.<port>`.
    let directory: String
    let port: Int
    private let upstreamPath: String
    private let listener: Int32
    private let lock = NSLock()
    private var marker: [UInt8]? = nil
    private var markerSeen = false
    private(set) var triggered = false

    /// - Parameter conninfo: the test cluster's key=value conninfo (host is its socket directory).
    init(upstreamConninfo conninfo: String) throws {
        let fields = Self.fields(of: conninfo)
        guard let host = fields["host"], let port = fields["port"].flatMap(Int.init) else {
            throw ProxyError.message("the conninfo names no host directory and port: \(conninfo)")
        }
        self.port = port
        upstreamPath = "\(host)/.s.PGSQL.\(port)"
        directory =
            FileManager.default.temporaryDirectory.appendingPathComponent("cjmd-proxy-\(UUID().uuidString.prefix(8))")
            .path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        listener = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        var address = Self.address("\(directory)/.s.PGSQL.\(port)")
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(listener, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        guard bound == 0, listen(listener, 64) == 0 else { throw ProxyError.message("cannot listen: errno \(errno)") }
        Thread.detachNewThread { [self] in acceptLoop() }
    }

    deinit {
        shutdown(listener, Int32(SHUT_RDWR))
        close(listener)
        try? FileManager.default.removeItem(atPath: directory)
    }

    /// Loses the reply of the first COMMIT sent after `marker` passes through.
    func arm(marker: String) {
        lock.withLock {
            self.marker = Array(marker.utf8)
            markerSeen = false
        }
    }

    /// The conninfo that reaches `database` through the proxy.
    func conninfo(base: String, database: String) -> String {
        base + " host='\(directory)' port=\(port) dbname=\(database)"
    }

    private func acceptLoop() {
        while true {
            let client = accept(listener, nil, nil)
            guard client >= 0 else {
                if errno == EINTR { continue }
                return
            }
            let server = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
            var address = Self.address(upstreamPath)
            let connected = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    connect(server, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
                }
            }
            guard connected == 0 else {
                close(client)
                close(server)
                continue
            }
            let pair = ConnectionPair(client: client, server: server)
            Thread.detachNewThread { [self] in pump(from: client, to: server, pair: pair, watch: true) }
            Thread.detachNewThread { [self] in pump(from: server, to: client, pair: pair, watch: false) }
        }
    }

    private func pump(from source: Int32, to destination: Int32, pair: ConnectionPair, watch: Bool) {
        var chunk = [UInt8](repeating: 0, count: 65_536)
        var tail: [UInt8] = []
        while true {
            let n = chunk.withUnsafeMutableBytes { recv(source, $0.baseAddress, $0.count, 0) }
            guard n > 0 else { break }
            var cut = false
            if watch {
                // Matches may straddle reads: search the end of the last read with this one.
                let window = tail + chunk[..<n]
                cut = inspect(window)
                tail = Array(window.suffix(64))
                // From the COMMIT on, nothing the server says reaches the client.
                if cut { pair.holdReplies() }
            } else if pair.isHoldingReplies {
                continue
            }
            guard !pair.isCut, Self.sendAll(destination, chunk[..<n]) else { break }
            if cut {
                // Let the server commit, then vanish before its answer is relayed.
                Thread.sleep(forTimeInterval: 0.5)
                pair.cut()
                break
            }
        }
        pair.cut()
    }

    /// Whether this window (sent by a client) is the COMMIT whose reply is to be lost.
    private func inspect(_ window: [UInt8]) -> Bool {
        lock.withLock {
            guard let marker, !triggered else { return false }
            if !markerSeen, Self.contains(window, marker) { markerSeen = true }
            if markerSeen, Self.contains(window, Array("COMMIT".utf8)) {
                triggered = true
                return true
            }
            return false
        }
    }

    private static func contains(_ haystack: [UInt8], _ needle: [UInt8]) -> Bool {
        guard needle.count <= haystack.count else { return false }
        for start in 0...(haystack.count - needle.count) where haystack[start] == needle[0] {
            if haystack[start..<(start + needle.count)].elementsEqual(needle) { return true }
        }
        return false
    }

    private static func sendAll(_ fd: Int32, _ bytes: ArraySlice<UInt8>) -> Bool {
        var offset = bytes.startIndex
        while offset < bytes.endIndex {
            let n = bytes[offset...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            guard n > 0 else { return false }
            offset += n
        }
        return true
    }

    private static func address(_ path: String) -> sockaddr_un {
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            for (i, byte) in path.utf8.enumerated() where i < raw.count - 1 { raw[i] = byte }
        }
        return address
    }

    private static func fields(of conninfo: String) -> [String: String] {
        var result: [String: String] = [:]
        for part in conninfo.split(separator: " ") {
            guard let equals = part.firstIndex(of: "=") else { continue }
            let value = part[part.index(after: equals)...].trimmingCharacters(in: CharacterSet(charactersIn: "'"))
            result[String(part[..<equals])] = value
        }
        return result
    }

    /// Both sockets of one proxied connection; cut once.
    private final class ConnectionPair: @unchecked Sendable {
        let client: Int32, server: Int32
        private let lock = NSLock()
        private var done = false

        init(client: Int32, server: Int32) {
            self.client = client
            self.server = server
        }

        private var holding = false

        var isCut: Bool { lock.withLock { done } }
        var isHoldingReplies: Bool { lock.withLock { holding } }
        func holdReplies() { lock.withLock { holding = true } }

        func cut() {
            lock.withLock {
                guard !done else { return }
                done = true
                shutdown(client, Int32(SHUT_RDWR))
                shutdown(server, Int32(SHUT_RDWR))
                close(client)
                close(server)
            }
        }
    }

    enum ProxyError: Error { case message(String) }
}
