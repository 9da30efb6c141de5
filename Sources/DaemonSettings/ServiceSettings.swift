/// Service-level settings: the local HTTP address for metrics and health.
public struct ServiceSettings: Sendable, Equatable {
    /// `host:port` for `/metrics` and `/healthz`; nil disables the endpoint.
    public var metricsListen: String? = "127.0.0.1:9464"
    public init() {}
}
