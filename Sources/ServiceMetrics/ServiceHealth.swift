/// What `/healthz` reports: healthy, or the reasons the service is not.
public enum ServiceHealth: Sendable, Equatable {
    /// Everything cjmd needs works; `/healthz` answers 200 `ok`.
    case healthy
    /// Something cjmd needs is missing; `/healthz` answers 503 with this reason.
    case unhealthy(reason: String)

    /// Healthy when `problems` is empty; otherwise unhealthy, the problems joined by `; `.
    ///
    /// Lets the daemon list each failed check, e.g.
    /// `ServiceHealth(problems: [databaseUp ? nil : "database unreachable"].compactMap { $0 })`.
    public init(problems: [String]) {
        self = problems.isEmpty ? .healthy : .unhealthy(reason: problems.joined(separator: "; "))
    }
}
