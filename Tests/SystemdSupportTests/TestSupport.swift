import Testing

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

#if canImport(Glibc)
    let testDatagramType = Int32(SOCK_DGRAM.rawValue)
    let testStreamType = Int32(SOCK_STREAM.rawValue)
#else
    let testDatagramType = SOCK_DGRAM
    let testStreamType = SOCK_STREAM
#endif

struct SocketTestFailure: Error, CustomStringConvertible {
    let description: String
    init(_ step: String, errno code: Int32 = errno) {
        description = "\(step): \(String(cString: strerror(code)))"
    }
}

/// A fresh directory under /tmp, removed (with its entries) on deinit.
final class TemporaryDirectory {
    let path: String

    init() throws {
        var template = Array("/tmp/cjmd-systemd-XXXXXX".utf8CString)
        guard let created = template.withUnsafeMutableBufferPointer({ $0.baseAddress.flatMap { mkdtemp($0) } }) else {
            throw SocketTestFailure("mkdtemp")
        }
        path = String(cString: created)
    }

    deinit {
        if let directory = opendir(path) {
            while let entry = readdir(directory) {
                let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                    String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
                }
                if name != "." && name != ".." { unlink(path + "/" + name) }
            }
            closedir(directory)
        }
        rmdir(path)
    }
}

/// Fills a sockaddr_un: a path (NUL-terminated) or, when `abstract`, a leading NUL then the name.
func withUnixAddress<R>(_ name: String, abstract: Bool, _ body: (UnsafePointer<sockaddr>, socklen_t) -> R) -> R {
    var address = sockaddr_un()
    address.sun_family = sa_family_t(AF_UNIX)
    let bytes = abstract ? [0] + Array(name.utf8) : Array(name.utf8) + [0]
    withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: bytes) }
    let offset = MemoryLayout<sockaddr_un>.offset(of: \sockaddr_un.sun_path) ?? 2
    return withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { body($0, socklen_t(offset + bytes.count)) }
    }
}

/// A bound AF_UNIX datagram socket standing in for systemd's notification socket.
final class DatagramReceiver: Sendable {
    let fd: Int32

    init(name: String, abstract: Bool = false) throws {
        fd = socket(AF_UNIX, testDatagramType, 0)
        guard fd >= 0 else { throw SocketTestFailure("socket") }
        let bound = withUnixAddress(name, abstract: abstract) { bind(fd, $0, $1) }
        guard bound == 0 else {
            let failure = SocketTestFailure("bind \(name)")
            close(fd)
            throw failure
        }
        var timeout = timeval(tv_sec: 5, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    }

    deinit { close(fd) }

    /// The next datagram, or nil after 5 s without one.
    func receive() -> String? {
        var buffer = [UInt8](repeating: 0, count: 4096)
        let count = recv(fd, &buffer, buffer.count, 0)
        guard count >= 0 else { return nil }
        return String(decoding: buffer[0..<count], as: UTF8.self)
    }

    /// The next datagram, waiting without blocking a Swift concurrency thread (the pool has
    /// as many threads as cores, and a blocked one can starve the task that should send).
    func receiveAsync(timeout: Duration = .seconds(10)) async -> String? {
        let clock = ContinuousClock()
        let deadline = clock.now + timeout
        var buffer = [UInt8](repeating: 0, count: 4096)
        while clock.now < deadline {
            let count = recv(fd, &buffer, buffer.count, Int32(MSG_DONTWAIT))
            if count >= 0 { return String(decoding: buffer[0..<count], as: UTF8.self) }
            try? await Task.sleep(for: .milliseconds(5))
        }
        return nil
    }

    /// Datagrams already queued, without waiting.
    func drain() -> [String] {
        var messages: [String] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = recv(fd, &buffer, buffer.count, Int32(MSG_DONTWAIT))
            guard count >= 0 else { return messages }
            messages.append(String(decoding: buffer[0..<count], as: UTF8.self))
        }
    }
}

/// A listening AF_UNIX stream socket at `path`.
func listeningUnixSocket(path: String) throws -> Int32 {
    let fd = socket(AF_UNIX, testStreamType, 0)
    guard fd >= 0 else { throw SocketTestFailure("socket") }
    guard withUnixAddress(path, abstract: false, { bind(fd, $0, $1) }) == 0, listen(fd, 8) == 0 else {
        let failure = SocketTestFailure("bind/listen \(path)")
        close(fd)
        throw failure
    }
    return fd
}

/// A listening TCP socket on 127.0.0.1 with a kernel-chosen port; returns the descriptor and port.
func listeningLoopbackTCPSocket() throws -> (fd: Int32, port: UInt16) {
    let fd = socket(AF_INET, testStreamType, 0)
    guard fd >= 0 else { throw SocketTestFailure("socket") }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = UInt32(0x7F00_0001).bigEndian
    address.sin_port = 0
    let bound = withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
    }
    guard bound == 0, listen(fd, 8) == 0 else {
        let failure = SocketTestFailure("bind/listen 127.0.0.1")
        close(fd)
        throw failure
    }
    var actual = sockaddr_in()
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    _ = withUnsafeMutablePointer(to: &actual) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
    }
    return (fd, UInt16(bigEndian: actual.sin_port))
}

/// Duplicates `descriptors` onto consecutive free descriptor numbers starting at or above
/// `searchFrom`, as systemd would place them at 3, 4, …; returns the first number.
/// dup2 leaves the copies without FD_CLOEXEC, which lets tests see the parser set it.
func placeConsecutively(_ descriptors: [Int32], searchFrom: Int32) throws -> Int32 {
    var base = searchFrom
    while base < searchFrom + 200 {
        let range = base..<base + Int32(descriptors.count)
        if range.allSatisfy({ fcntl($0, F_GETFD) == -1 }) {
            for (offset, fd) in descriptors.enumerated() {
                guard dup2(fd, base + Int32(offset)) >= 0 else { throw SocketTestFailure("dup2") }
            }
            return base
        }
        base += 1
    }
    throw SocketTestFailure("no free descriptor range", errno: EMFILE)
}

func isCloseOnExec(_ fd: Int32) -> Bool {
    let flags = fcntl(fd, F_GETFD)
    return flags >= 0 && flags & FD_CLOEXEC != 0
}

/// A pipe whose read end never blocks.
final class CapturePipe {
    let readEnd: Int32
    let writeEnd: Int32

    init() throws {
        var ends: [Int32] = [0, 0]
        guard pipe(&ends) == 0 else { throw SocketTestFailure("pipe") }
        readEnd = ends[0]
        writeEnd = ends[1]
        _ = fcntl(readEnd, F_SETFL, fcntl(readEnd, F_GETFL) | O_NONBLOCK)
    }

    deinit {
        close(readEnd)
        close(writeEnd)
    }

    /// Everything written so far.
    func readAvailable() -> String {
        var collected: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let count = read(readEnd, &buffer, buffer.count)
            guard count > 0 else { break }
            collected.append(contentsOf: buffer[0..<count])
        }
        return String(decoding: collected, as: UTF8.self)
    }

    /// The pipe's device and inode, as systemd writes them into JOURNAL_STREAM.
    func journalStreamValue() -> String {
        var status = stat()
        fstat(writeEnd, &status)
        return "\(status.st_dev):\(status.st_ino)"
    }
}

/// A name unique to this process and call, for abstract sockets and files.
func uniqueName(_ prefix: String) -> String {
    "\(prefix)-\(getpid())-\(UInt64.random(in: 0 ..< UInt64.max))"
}
