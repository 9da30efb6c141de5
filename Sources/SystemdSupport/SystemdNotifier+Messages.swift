/// The standard sd_notify(3) messages cjmd sends during its life.
extension SystemdNotifier {
    /// `READY=1`, with an optional human-readable `STATUS=` line; send once sources listen and
    /// the database is reachable.
    @discardableResult
    public func ready(status: String? = nil) -> NotifyOutcome {
        notify(Self.message("READY=1", status: status))
    }

    /// `STOPPING=1`, with an optional `STATUS=`; send when shutdown begins.
    @discardableResult
    public func stopping(status: String? = nil) -> NotifyOutcome {
        notify(Self.message("STOPPING=1", status: status))
    }

    /// `STATUS=…`: free-form text shown by `systemctl status`.
    @discardableResult
    public func status(_ text: String) -> NotifyOutcome {
        notify("STATUS=" + Self.singleLine(text))
    }

    /// `WATCHDOG=1`: the keep-alive ping for `WatchdogSec=`.
    @discardableResult
    public func watchdog() -> NotifyOutcome {
        notify("WATCHDOG=1")
    }

    /// `RELOADING=1` with `MONOTONIC_USEC=`, sent when a reload (SIGHUP) starts; follow it with
    /// ``ready(status:)`` when the new configuration is in effect. systemd (since v253) uses the
    /// timestamp to tell this reload apart from earlier ones.
    @discardableResult
    public func reloading(monotonicUsec: UInt64 = monotonicMicroseconds(), status: String? = nil) -> NotifyOutcome {
        notify(Self.message("RELOADING=1\nMONOTONIC_USEC=\(monotonicUsec)", status: status))
    }

    private static func message(_ head: String, status: String?) -> String {
        guard let status else { return head }
        return head + "\nSTATUS=" + singleLine(status)
    }

    // A newline inside STATUS would start a new assignment, letting text forge READY=1 etc.
    private static func singleLine(_ text: String) -> String {
        guard text.contains(where: \.isNewline) else { return text }
        return String(text.map { $0.isNewline ? " " : $0 })
    }
}
