#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// Reads and clears the few variables systemd passes, without Foundation.
///
/// Every public entry point takes an injectable environment dictionary; this is only the
/// default used when the caller passes `nil`.
enum ProcessEnvironment {
    /// The current values of `keys` in the process environment; absent keys are omitted.
    static func values(for keys: [String]) -> [String: String] {
        var values: [String: String] = [:]
        for key in keys {
            if let raw = getenv(key) { values[key] = String(cString: raw) }
        }
        return values
    }

    /// Removes `keys` from the process environment so child processes do not inherit them.
    ///
    /// setenv/unsetenv are not thread-safe in libc; callers do this once at startup.
    static func remove(_ keys: [String]) {
        for key in keys { unsetenv(key) }
    }
}
