#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// The service watchdog systemd armed for this process (`WatchdogSec=` in the unit).
///
/// systemd passes the timeout as `WATCHDOG_USEC` and, usually, the process it is meant for as
/// `WATCHDOG_PID`. If cjmd does not send `WATCHDOG=1` within the timeout, systemd kills and
/// (with `Restart=on-failure`) restarts it. Pings go out at half the timeout, as sd_watchdog_enabled(3)
/// recommends, so one late ping is not fatal.
public struct WatchdogSettings: Sendable, Equatable {
    /// The variables systemd sets.
    public static let environmentKeys = ["WATCHDOG_USEC", "WATCHDOG_PID"]

    /// `WatchdogSec=` in microseconds.
    public let timeoutMicroseconds: UInt64

    /// Settings for a watchdog of `timeoutMicroseconds` (must be positive).
    public init(timeoutMicroseconds: UInt64) {
        self.timeoutMicroseconds = max(timeoutMicroseconds, 1)
    }

    /// `WatchdogSec=` as a duration.
    public var timeout: Duration { .microseconds(timeoutMicroseconds) }

    /// How often to send `WATCHDOG=1`: half the timeout.
    public var pingInterval: Duration { .microseconds(timeoutMicroseconds / 2) }

    /// Reads `WATCHDOG_USEC` / `WATCHDOG_PID` like sd_watchdog_enabled(3).
    ///
    /// - Parameters:
    ///   - environment: the variables to read; the process environment when `nil`.
    ///   - processID: this process's id; the watchdog applies only when `WATCHDOG_PID` is absent
    ///     or equal to it (a parent may have armed it for itself and leaked the variables).
    ///   - unset: also remove both variables from the process environment (startup only).
    /// - Returns: `nil` when no watchdog is armed for this process.
    /// - Throws: ``WatchdogSettingsError`` when a variable is set but unreadable.
    public static func fromEnvironment(
        _ environment: [String: String]? = nil,
        processID: Int32 = getpid(),
        unset: Bool = false
    ) throws(WatchdogSettingsError) -> WatchdogSettings? {
        let values = environment ?? ProcessEnvironment.values(for: environmentKeys)
        if unset { ProcessEnvironment.remove(environmentKeys) }
        guard let usecText = values["WATCHDOG_USEC"] else { return nil }
        // 0 means "unset" and UInt64.max is systemd's USEC_INFINITY; neither is a real timeout.
        guard let usec = UInt64(usecText), usec > 0, usec < UInt64.max else {
            throw .invalidTimeout(usecText)
        }
        if let pidText = values["WATCHDOG_PID"] {
            guard let pid = Int32(pidText), pid > 0 else { throw .invalidProcessID(pidText) }
            if pid != processID { return nil }
        }
        return WatchdogSettings(timeoutMicroseconds: usec)
    }

    /// Sends `WATCHDOG=1` every ``pingInterval`` until the surrounding task is cancelled.
    ///
    /// - Parameter isHealthy: asked before each ping; returning `false` skips it, so a stuck
    ///   pipeline lets systemd restart the service instead of being kept alive by a timer.
    public func sendPings(
        through notifier: SystemdNotifier,
        isHealthy: @Sendable () async -> Bool = { true }
    ) async {
        while !Task.isCancelled {
            if await isHealthy() { notifier.watchdog() }
            do {
                try await Task.sleep(for: pingInterval)
            } catch {
                return
            }
        }
    }
}

/// A watchdog variable that is set but cannot be used.
public enum WatchdogSettingsError: Error, Equatable, CustomStringConvertible {
    /// `WATCHDOG_USEC` is not a positive, finite number of microseconds.
    case invalidTimeout(String)
    /// `WATCHDOG_PID` is not a process id.
    case invalidProcessID(String)

    public var description: String {
        switch self {
        case .invalidTimeout(let value):
            "WATCHDOG_USEC=\(value) is not a positive number of microseconds; set WatchdogSec= in the unit "
                + "to a duration such as 30s, or remove it to disable the watchdog"
        case .invalidProcessID(let value):
            "WATCHDOG_PID=\(value) is not a process id; unset it or let systemd set it"
        }
    }
}
