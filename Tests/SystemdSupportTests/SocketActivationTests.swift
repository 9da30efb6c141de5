import SystemdSupport
import Testing

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

@Suite("LISTEN_FDS socket activation with real descriptors")
struct SocketActivationTests {
    @Test("named listeners come back in order, marked close-on-exec, and describe themselves")
    func namedListeners() throws {
        let directory = try TemporaryDirectory()
        let socketPath = directory.path + "/events.sock"
        let unixListener = try listeningUnixSocket(path: socketPath)
        defer { close(unixListener) }
        let tcpListener = try listeningLoopbackTCPSocket()
        defer { close(tcpListener.fd) }
        let base = try placeConsecutively([unixListener, tcpListener.fd], searchFrom: 600)
        defer {
            close(base)
            close(base + 1)
        }
        #expect(!isCloseOnExec(base) && !isCloseOnExec(base + 1))

        let environment = ["LISTEN_PID": String(getpid()), "LISTEN_FDS": "2", "LISTEN_FDNAMES": "events:tcp"]
        let sockets = try SocketActivation.listeners(environment: environment, firstDescriptor: base)

        #expect(sockets == [ActivatedSocket(name: "events", fd: base), ActivatedSocket(name: "tcp", fd: base + 1)])
        #expect(isCloseOnExec(base) && isCloseOnExec(base + 1))

        let events = try SocketDescription(fd: base)
        #expect(events.family == .unix)
        #expect(events.kind == .stream)
        #expect(events.isListeningStream)
        #expect(events.localAddress == socketPath)

        let tcp = try SocketDescription(fd: base + 1)
        #expect(tcp.family == .ipv4)
        #expect(tcp.isListeningStream)
        #expect(tcp.localAddress == "127.0.0.1:\(tcpListener.port)")
    }

    @Test("without LISTEN_FDNAMES every descriptor is named \"unknown\", as sd_listen_fds_with_names does")
    func defaultNames() throws {
        let first = try listeningLoopbackTCPSocket()
        defer { close(first.fd) }
        let second = try listeningLoopbackTCPSocket()
        defer { close(second.fd) }
        let base = try placeConsecutively([first.fd, second.fd], searchFrom: 650)
        defer {
            close(base)
            close(base + 1)
        }
        let sockets = try SocketActivation.listeners(
            environment: ["LISTEN_PID": String(getpid()), "LISTEN_FDS": "2"], firstDescriptor: base)
        #expect(sockets.map(\.name) == ["unknown", "unknown"])
        #expect(sockets.map(\.fd) == [base, base + 1])
    }

    @Test("descriptors meant for another process, or none at all, give an empty list")
    func notForThisProcess() throws {
        #expect(try SocketActivation.listeners(environment: [:]).isEmpty)
        let other = ["LISTEN_PID": String(getpid() + 1), "LISTEN_FDS": "2", "LISTEN_FDNAMES": "a:b"]
        #expect(try SocketActivation.listeners(environment: other).isEmpty)
        #expect(try SocketActivation.listeners(environment: ["LISTEN_PID": String(getpid())]).isEmpty)
    }

    @Test(
        "malformed variables are typed errors",
        arguments: [
            (["LISTEN_PID": "me", "LISTEN_FDS": "1"], SocketActivationError.invalidProcessID("me")),
            (["LISTEN_FDS": "two"], SocketActivationError.invalidDescriptorCount("two")),
            (["LISTEN_FDS": "0"], SocketActivationError.invalidDescriptorCount("0")),
            (["LISTEN_FDS": "-1"], SocketActivationError.invalidDescriptorCount("-1")),
            (
                ["LISTEN_FDS": "2", "LISTEN_FDNAMES": "events"],
                SocketActivationError.nameCountMismatch(names: 1, descriptors: 2)
            ),
            (
                ["LISTEN_FDS": "1", "LISTEN_FDNAMES": "a:b"],
                SocketActivationError.nameCountMismatch(names: 2, descriptors: 1)
            ),
        ])
    func malformed(variables: [String: String], expected: SocketActivationError) {
        var environment = variables
        if environment["LISTEN_PID"] == nil { environment["LISTEN_PID"] = String(getpid()) }
        #expect(throws: expected) { try SocketActivation.listeners(environment: environment) }
    }

    @Test("a descriptor that is not open is reported by number")
    func closedDescriptor() throws {
        let base = try #require((900..<1000).first { fcntl($0, F_GETFD) == -1 })
        let environment = ["LISTEN_PID": String(getpid()), "LISTEN_FDS": "1"]
        #expect(throws: SocketActivationError.descriptorUnusable(fd: base, errno: EBADF)) {
            try SocketActivation.listeners(environment: environment, firstDescriptor: base)
        }
    }

    @Test("unset removes the LISTEN_* variables from the process, even when they are not for us")
    func unsetsEnvironment() throws {
        setenv("LISTEN_PID", String(getpid() + 1), 1)
        setenv("LISTEN_FDS", "1", 1)
        setenv("LISTEN_FDNAMES", "events", 1)
        defer { SocketActivation.environmentKeys.forEach { unsetenv($0) } }
        #expect(try SocketActivation.listeners(unset: true).isEmpty)
        #expect(getenv("LISTEN_PID") == nil)
        #expect(getenv("LISTEN_FDS") == nil)
        #expect(getenv("LISTEN_FDNAMES") == nil)
    }

    @Test("a datagram socket is described as such and not as a listening stream")
    func datagramSocketIsNotAListener() throws {
        let name = uniqueName("cjmd-dgram-test")
        let receiver = try DatagramReceiver(name: name, abstract: true)
        let description = try SocketDescription(fd: receiver.fd)
        #expect(description.kind == .datagram)
        #expect(!description.isListening)
        #expect(!description.isListeningStream)
        #expect(description.localAddress == "@" + name)
    }

    @Test("a bound but not listening stream socket is not a listener")
    func boundStreamWithoutListen() throws {
        let fd = socket(AF_INET, testStreamType, 0)
        try #require(fd >= 0)
        defer { close(fd) }
        let description = try SocketDescription(fd: fd)
        #expect(description.family == .ipv4)
        #expect(description.kind == .stream)
        #expect(!description.isListening)
    }

    @Test("a pipe is rejected as not a socket")
    func pipeIsNotASocket() throws {
        let pipe = try CapturePipe()
        #expect(throws: SocketActivationError.notASocket(fd: pipe.readEnd)) { try SocketDescription(fd: pipe.readEnd) }
    }

    @Test(
        "an IPv6 loopback listener is described with a bracketed address",
        .enabled(if: ipv6LoopbackAvailable(), "this machine has no ::1"))
    func ipv6Listener() throws {
        let fd = socket(AF_INET6, testStreamType, 0)
        try #require(fd >= 0)
        defer { close(fd) }
        var address = sockaddr_in6()
        address.sin6_family = sa_family_t(AF_INET6)
        address.sin6_addr = in6addr_loopback
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in6>.size))
            }
        }
        try #require(bound == 0 && listen(fd, 4) == 0)
        let description = try SocketDescription(fd: fd)
        #expect(description.family == .ipv6)
        #expect(description.isListeningStream)
        #expect(description.localAddress.hasPrefix("[::1]:"))
        #expect(description.localAddress != "[::1]:0")
    }
}

func ipv6LoopbackAvailable() -> Bool {
    let fd = socket(AF_INET6, testStreamType, 0)
    guard fd >= 0 else { return false }
    defer { close(fd) }
    var address = sockaddr_in6()
    address.sin6_family = sa_family_t(AF_INET6)
    address.sin6_addr = in6addr_loopback
    return withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
            bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in6>.size))
        }
    } == 0
}
