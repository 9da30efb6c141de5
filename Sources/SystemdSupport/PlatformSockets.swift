#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

// Glibc imports the socket-type constants as enums, Musl and Darwin as plain integers;
// these names give the rest of the module one spelling for all three.
#if canImport(Glibc)
    let datagramSocketType = Int32(SOCK_DGRAM.rawValue)
    let streamSocketType = Int32(SOCK_STREAM.rawValue)
    let sequencedPacketSocketType = Int32(SOCK_SEQPACKET.rawValue)
    let closeOnExecSocketFlag = Int32(SOCK_CLOEXEC.rawValue)
    let noSignalSendFlag = Int32(MSG_NOSIGNAL)
#elseif canImport(Musl)
    let datagramSocketType = SOCK_DGRAM
    let streamSocketType = SOCK_STREAM
    let sequencedPacketSocketType = SOCK_SEQPACKET
    let closeOnExecSocketFlag = SOCK_CLOEXEC
    let noSignalSendFlag = MSG_NOSIGNAL
#else
    // Darwin has neither flag; an unconnected datagram send cannot raise SIGPIPE anyway.
    let datagramSocketType = SOCK_DGRAM
    let streamSocketType = SOCK_STREAM
    let sequencedPacketSocketType = SOCK_SEQPACKET
    let closeOnExecSocketFlag: Int32 = 0
    let noSignalSendFlag: Int32 = 0
#endif

/// Where `sun_path` starts inside `sockaddr_un` (2 on Linux and Darwin).
let unixPathOffset = MemoryLayout<sockaddr_un>.offset(of: \sockaddr_un.sun_path) ?? 2

/// Capacity of `sun_path` in bytes (108 on Linux, 104 on Darwin).
let unixPathCapacity = MemoryLayout<sockaddr_un>.size - unixPathOffset

/// The text of an errno value, e.g. "No such file or directory".
func errnoDescription(_ code: Int32) -> String {
    guard let text = strerror(code) else { return "errno \(code)" }
    return String(cString: text)
}
