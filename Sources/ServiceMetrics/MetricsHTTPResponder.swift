import NIOHTTP1
import Prometheus

/// One response of the metrics endpoint, before it is encoded as HTTP.
struct MetricsHTTPResponse: Sendable {
    var status: HTTPResponseStatus
    var contentType: String
    var body: [UInt8]
    var extraHeaders: [(String, String)] = []
}

/// Routes a request to the page it asks for. Knows nothing of sockets, so the routing
/// rules read in one place.
struct MetricsHTTPResponder: Sendable {
    /// The Prometheus text exposition format, version 0.0.4.
    static let metricsContentType = "text/plain; version=0.0.4; charset=utf-8"
    static let textContentType = "text/plain; charset=utf-8"

    let registry: PrometheusCollectorRegistry
    let health: MetricsHTTPServer.HealthCheck
    /// Further pages (the journey map): asked about every other path.
    var pages: MetricsHTTPServer.PageHandler? = nil

    func respond(method: HTTPMethod, uri: String) async -> MetricsHTTPResponse {
        let path = uri.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
        switch path {
        case "/metrics", "/healthz":
            // Only GET: scrapers and probes never need more, and anything else is a mistake
            // worth surfacing rather than guessing at.
            guard method == .GET else {
                return Self.text(
                    .methodNotAllowed, "method \(method.rawValue) not allowed; use GET\n",
                    extraHeaders: [("Allow", "GET")])
            }
            if path == "/metrics" {
                return MetricsHTTPResponse(
                    status: .ok, contentType: Self.metricsContentType, body: registry.emitToBuffer())
            }
            switch await health() {
            case .healthy:
                return Self.text(.ok, "ok\n")
            case .unhealthy(let reason):
                return Self.text(.serviceUnavailable, "unhealthy: \(reason)\n")
            }
        default:
            let query = uri.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false).dropFirst().first
            if let pages, let page = await pages(method, path, query) {
                return MetricsHTTPResponse(
                    status: HTTPResponseStatus(statusCode: page.status), contentType: page.contentType,
                    body: page.body, extraHeaders: page.headers)
            }
            return Self.text(.notFound, "not found; cjmd serves /metrics, /healthz and /map\n")
        }
    }

    static func text(
        _ status: HTTPResponseStatus, _ body: String, extraHeaders: [(String, String)] = []
    ) -> MetricsHTTPResponse {
        MetricsHTTPResponse(
            status: status, contentType: textContentType, body: Array(body.utf8), extraHeaders: extraHeaders)
    }
}
