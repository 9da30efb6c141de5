#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// The process's limit on open file descriptors (`RLIMIT_NOFILE`).
///
/// systemd starts services with a soft limit of 1024 and a much higher hard limit (the soft
/// limit stays low only for programs still using `select()`). Every client connection is a
/// descriptor, so a daemon meant to hold `ingest.max_connections` clients raises its soft
/// limit to the hard one, as systemd's documentation recommends for such programs.
public enum FileDescriptorLimit {
    /// Raises the soft limit to the hard limit.
    /// - Returns: the soft limit in effect afterwards, or nil if it cannot be read.
    @discardableResult
    public static func raiseToHardLimit() -> UInt64? {
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return nil }
        if limit.rlim_cur < limit.rlim_max {
            var raised = limit
            raised.rlim_cur = limit.rlim_max
            if setrlimit(Int32(RLIMIT_NOFILE.rawValue), &raised) == 0 { return UInt64(raised.rlim_cur) }
        }
        return UInt64(limit.rlim_cur)
    }
}
