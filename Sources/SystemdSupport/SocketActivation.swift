#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// One descriptor passed by systemd socket activation.
public struct ActivatedSocket: Sendable, Equatable {
    /// The socket unit's `FileDescriptorName=` (systemd's default is the unit name, e.g.
    /// `cjmd.socket`; "unknown" when the manager passed no names at all).
    public let name: String
    /// The open descriptor; cjmd owns it from now on.
    public let fd: Int32

    /// A descriptor named `name`.
    public init(name: String, fd: Int32) {
        self.name = name
        self.fd = fd
    }
}

/// sd_listen_fds(3) / sd_listen_fds_with_names(3), in Swift.
///
/// systemd passes listening sockets as descriptors 3, 4, … and describes them in
/// `LISTEN_PID`, `LISTEN_FDS` and `LISTEN_FDNAMES`. cjmd's sources match them by name.
public enum SocketActivation {
    /// The first descriptor systemd passes (`SD_LISTEN_FDS_START`).
    public static let firstPassedDescriptor: Int32 = 3

    /// The variables systemd sets; all are removed when `unset` is true.
    public static let environmentKeys = ["LISTEN_PID", "LISTEN_PIDFDID", "LISTEN_FDS", "LISTEN_FDNAMES"]

    /// The descriptors passed to this process, in order, each marked close-on-exec.
    ///
    /// - Parameters:
    ///   - environment: the variables to read; the process environment when `nil`.
    ///   - processID: this process's id; descriptors meant for another process (a parent that
    ///     leaked the variables) are ignored, as `LISTEN_PID` requires.
    ///   - firstDescriptor: where the descriptors start; 3 except in tests.
    ///   - unset: remove the variables from the process environment, like
    ///     `sd_listen_fds(1)`, even when reading fails (startup only: setenv is not thread-safe).
    /// - Returns: an empty array when nothing was passed to this process.
    /// - Throws: ``SocketActivationError`` when the variables are malformed or a descriptor is not open.
    public static func listeners(
        environment: [String: String]? = nil,
        processID: Int32 = getpid(),
        firstDescriptor: Int32 = firstPassedDescriptor,
        unset: Bool = false
    ) throws(SocketActivationError) -> [ActivatedSocket] {
        let values = environment ?? ProcessEnvironment.values(for: environmentKeys)
        defer { if unset { ProcessEnvironment.remove(environmentKeys) } }

        guard let pidText = values["LISTEN_PID"] else { return [] }
        guard let pid = Int32(pidText), pid > 0 else { throw .invalidProcessID(pidText) }
        guard pid == processID else { return [] }
        guard let countText = values["LISTEN_FDS"] else { return [] }
        guard let count = Int32(countText), count > 0, count <= Int32.max - firstDescriptor else {
            throw .invalidDescriptorCount(countText)
        }

        let names: [String]
        if let namesText = values["LISTEN_FDNAMES"] {
            // Empty names between colons are kept, so positions stay aligned with descriptors.
            names = namesText.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
            guard names.count == Int(count) else {
                throw .nameCountMismatch(names: names.count, descriptors: Int(count))
            }
        } else {
            names = Array(repeating: "unknown", count: Int(count))
        }

        var sockets: [ActivatedSocket] = []
        sockets.reserveCapacity(Int(count))
        for (offset, name) in names.enumerated() {
            let fd = firstDescriptor + Int32(offset)
            try markCloseOnExec(fd)
            sockets.append(ActivatedSocket(name: name, fd: fd))
        }
        return sockets
    }

    // Passed descriptors arrive inheritable; cjmd spawns nothing that should hold its listeners.
    private static func markCloseOnExec(_ fd: Int32) throws(SocketActivationError) {
        let flags = fcntl(fd, F_GETFD)
        guard flags >= 0 else { throw .descriptorUnusable(fd: fd, errno: errno) }
        guard flags & FD_CLOEXEC == 0 else { return }
        guard fcntl(fd, F_SETFD, flags | FD_CLOEXEC) == 0 else {
            throw .descriptorUnusable(fd: fd, errno: errno)
        }
    }
}

/// Socket-activation input that cannot be used.
public enum SocketActivationError: Error, Equatable, CustomStringConvertible {
    /// `LISTEN_PID` is not a process id.
    case invalidProcessID(String)
    /// `LISTEN_FDS` is not a positive count.
    case invalidDescriptorCount(String)
    /// `LISTEN_FDNAMES` names a different number of descriptors than `LISTEN_FDS` counts.
    case nameCountMismatch(names: Int, descriptors: Int)
    /// A descriptor that should be open is not (or cannot be inspected).
    case descriptorUnusable(fd: Int32, errno: Int32)
    /// The descriptor is not a socket.
    case notASocket(fd: Int32)

    public var description: String {
        switch self {
        case .invalidProcessID(let value):
            "LISTEN_PID=\(value) is not a process id; start cjmd from its socket unit or unset LISTEN_PID"
        case .invalidDescriptorCount(let value):
            "LISTEN_FDS=\(value) is not a positive descriptor count; start cjmd from its socket unit or unset LISTEN_FDS"
        case .nameCountMismatch(let names, let descriptors):
            "LISTEN_FDNAMES has \(names) names for \(descriptors) descriptors; "
                + "check FileDescriptorName= in the socket units (names must not contain ':')"
        case .descriptorUnusable(let fd, let code):
            "descriptor \(fd) passed by the service manager is unusable (\(errnoDescription(code))); "
                + "check the socket units named in the service's Sockets= and restart them"
        case .notASocket(let fd):
            "descriptor \(fd) passed by the service manager is not a socket; "
                + "use ListenStream= (not ListenFIFO= or ListenSpecial=) in cjmd's socket units"
        }
    }
}
