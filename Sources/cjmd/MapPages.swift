import Foundation
import JourneyCore
import JourneyMap
import JourneyStore
import NIOHTTP1
import PostgresClient
import ServiceMetrics

/// The live journey map on the metrics listener (docs/map.md): `GET /map` lists the journeys,
/// `GET /map/<journey>` draws one (refreshing itself every 30 s), `GET /map/<journey>.json`
/// returns the numbers it is drawn from.
///
/// Rendered from the database on request, over a connection of its own that is read-only
/// (`default_transaction_read_only`) with a statement timeout, on a serial queue of its own:
/// libpq blocks, and neither the event loops nor the commit loop may wait for a page.
final class MapPages: @unchecked Sendable {
    /// How often the page reloads itself.
    static let refreshSeconds = 30
    /// The longest a page's queries may run.
    static let statementTimeout = "5s"

    private let conninfo: String
    private let clock: @Sendable () -> EventTime
    private let queue = DispatchQueue(label: "cjmd.map-pages")
    /// Only touched on `queue`.
    private var connection: PostgresConnection?

    init(conninfo: String, clock: @escaping @Sendable () -> EventTime) {
        self.conninfo = conninfo
        self.clock = clock
    }

    /// The ``MetricsHTTPServer/PageHandler`` of these pages.
    var handler: MetricsHTTPServer.PageHandler {
        { [self] method, path, query in
            guard path == "/map" || path.hasPrefix("/map/") else { return nil }
            guard method == .GET else {
                return Self.text(405, "method \(method.rawValue) not allowed; use GET\n", headers: [("Allow", "GET")])
            }
            return await withCheckedContinuation { continuation in
                queue.async { continuation.resume(returning: self.page(path: path, query: query)) }
            }
        }
    }

    /// Runs on `queue`.
    private func page(path: Substring, query: Substring?) -> MetricsHTTPServer.Page {
        let persona = Self.parameter("persona", in: query).flatMap { $0.isEmpty ? nil : $0 }
        do {
            let connection = try readOnlyConnection()
            if path == "/map" || path == "/map/" {
                return Self.html(Self.index(try JourneyMapQuery.journeys(connection)))
            }
            var name = String(path.dropFirst("/map/".count))
            let wantsJSON = name.hasSuffix(".json")
            if wantsJSON { name.removeLast(".json".count) }
            guard let journey = name.removingPercentEncoding, !journey.isEmpty else {
                return Self.text(404, "no such journey\n")
            }
            guard let document = try JourneyMapQuery.load(connection, journey: journey, persona: persona, now: clock())
            else {
                if let persona, try JourneyMapQuery.journeys(connection).contains(journey) {
                    return Self.text(404, "no instance of persona \(persona) in journey \(journey) yet\n")
                }
                return Self.text(404, "no journey named \(journey); /map lists them\n")
            }
            if wantsJSON {
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.sortedKeys]
                return MetricsHTTPServer.Page(
                    status: 200, contentType: "application/json", body: Array(try encoder.encode(document)))
            }
            // Links to the same journey for all customers and for each persona (the most frequent).
            var links: [(label: String, href: String)] = [(label: "All journeys", href: "/map")]
            let personas = try JourneyMapQuery.personas(connection, journey: journey)
            if !personas.isEmpty {
                let base = String(path)
                links.append((label: "all customers", href: base))
                for other in personas.prefix(JourneyMapQuery.drawnPersonas) {
                    let encoded = other.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? other
                    links.append((label: "persona \(other)", href: "\(base)?persona=\(encoded)"))
                }
            }
            return Self.html(JourneyMapRenderer.render(document, refreshSeconds: Self.refreshSeconds, links: links))
        } catch {
            // The next request connects afresh.
            connection?.close()
            connection = nil
            return Self.text(503, "the database did not answer: \(error)\n", headers: [("Retry-After", "5")])
        }
    }

    private func readOnlyConnection() throws -> PostgresConnection {
        if let connection, connection.status == .ok { return connection }
        connection?.close()
        let fresh = try PostgresConnection(conninfo: conninfo)
        try fresh.executeScript(
            "SET default_transaction_read_only = on; SET statement_timeout = '\(Self.statementTimeout)'; "
                + "SET application_name = 'cjmd map'")
        connection = fresh
        return fresh
    }

    /// The list of journeys, each a link to its map.
    static func index(_ journeys: [String]) -> String {
        let items = journeys.map { journey in
            let href =
                "/map/"
                + (journey.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed) ?? journey)
                .replacingOccurrences(of: "/", with: "%2F")
            return "<li><a href=\"\(JourneyMapRenderer.escape(href))\">\(JourneyMapRenderer.escape(journey))</a></li>"
        }
        return """
            <!DOCTYPE html>
            <html lang="en">
            <head><meta charset="utf-8"/><title>Journey maps</title>
            <style>body { margin: 16px; font: 14px/1.4 system-ui, sans-serif; }</style></head>
            <body><h1>Journey maps</h1><ul>\(items.joined())</ul></body>
            </html>

            """
    }

    static func parameter(_ name: String, in query: Substring?) -> String? {
        guard let query else { return nil }
        for pair in query.split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            if parts.first == Substring(name) {
                return parts.count > 1
                    ? String(parts[1]).replacingOccurrences(of: "+", with: " ").removingPercentEncoding : ""
            }
        }
        return nil
    }

    static func html(_ text: String) -> MetricsHTTPServer.Page {
        MetricsHTTPServer.Page(
            status: 200, contentType: "text/html; charset=utf-8", body: Array(text.utf8),
            headers: [
                ("Content-Security-Policy", JourneyMapRenderer.contentSecurityPolicy),
                ("X-Content-Type-Options", "nosniff"), ("Cache-Control", "no-store"),
            ])
    }

    static func text(_ status: Int, _ text: String, headers: [(String, String)] = []) -> MetricsHTTPServer.Page {
        MetricsHTTPServer.Page(
            status: status, contentType: "text/plain; charset=utf-8", body: Array(text.utf8), headers: headers)
    }
}
