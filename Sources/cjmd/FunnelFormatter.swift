import Foundation
import JourneyStore

/// Renders funnel rows for `cjmd report`.
enum FunnelFormatter {
    static let csvHeader = FunnelRow.columns.map(\.name)

    /// The column names of `rows`: the funnel's, with `persona` after `journey` when the rows
    /// are a persona's (cjm.funnel_by_persona's order).
    static func header(_ rows: [FunnelRow]) -> [String] {
        rows.contains { $0.persona != nil } ? [csvHeader[0], "persona"] + csvHeader.dropFirst() : csvHeader
    }

    /// A row's values in ``header(_:)`` order.
    static func fields(_ row: FunnelRow, withPersona: Bool) -> [String?] {
        let fields = row.fields
        return withPersona ? [fields[0], row.persona] + fields.dropFirst() : fields
    }

    /// A CSV field: quoted when it holds a comma, quote or line break (RFC 4180).
    static func csvField(_ s: String) -> String {
        s.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" })
            ? "\"" + s.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : s
    }

    static func csv(_ rows: [FunnelRow]) -> String {
        let names = header(rows)
        let withPersona = names.count > csvHeader.count
        var out = names.joined(separator: ",") + "\n"
        for r in rows {
            out += fields(r, withPersona: withPersona).map { csvField($0 ?? "") }.joined(separator: ",") + "\n"
        }
        return out
    }

    static func json(_ rows: [FunnelRow]) -> String {
        let names = header(rows)
        let withPersona = names.count > csvHeader.count
        let objects: [[String: Any]] = rows.map { r in
            var o: [String: Any] = [:]
            let numeric = Set(FunnelRow.columns.filter(\.isNumeric).map(\.name))
            for (key, value) in zip(names, fields(r, withPersona: withPersona)) {
                if let value {
                    o[key] =
                        numeric.contains(key)
                        ? (Double(value).map { d -> Any in
                            d == d.rounded() && abs(d) < 1e15 && !value.contains(".") ? Int64(d) : d
                        } ?? value) : value
                } else {
                    o[key] = NSNull()
                }
            }
            return o
        }
        let data =
            (try? JSONSerialization.data(withJSONObject: objects, options: [.prettyPrinted, .sortedKeys]))
            ?? Data("[]".utf8)
        return String(decoding: data, as: UTF8.self)
    }

    static func table(_ rows: [FunnelRow]) -> String {
        var out = ""
        var journey: String? = nil
        var persona: String? = nil
        let header = [
            "stage", "reached", "customers", "step conv", "overall", "drop-off", "abandoned", "expired",
            "active", "median→next", "p90→next", "events", "sentiment", "revenue",
        ]
        var block: [[String]] = []
        func flush() {
            guard let journey, !block.isEmpty else { return }
            out += "journey \(journey)" + (persona.map { " · persona \($0)" } ?? "") + "\n"
            let table = [header] + block
            let widths = header.indices.map { c in table.map { $0[c].count }.max() ?? 0 }
            for (i, line) in table.enumerated() {
                out +=
                    line.enumerated().map { c, cell in
                        c == 0
                            ? cell.padding(toLength: widths[c], withPad: " ", startingAt: 0)
                            : String(repeating: " ", count: widths[c] - cell.count) + cell
                    }.joined(separator: "  ") + "\n"
                if i == 0 { out += widths.map { String(repeating: "-", count: $0) }.joined(separator: "  ") + "\n" }
            }
            out += "\n"
        }
        for r in rows {
            if r.journey != journey || r.persona != persona {
                flush()
                journey = r.journey
                persona = r.persona
                block = []
            }
            block.append([
                "\(r.stageIndex) \(r.stage)", "\(r.reached)", "\(r.customers)", percent(r.stepConversion),
                percent(r.overallConversion), r.dropOff.map { "\($0)" } ?? "—", "\(r.abandoned)", "\(r.expired)",
                "\(r.active)", duration(r.medianTimeToNext), duration(r.p90TimeToNext), "\(r.events)",
                r.avgSentiment.map { String(format: "%+.2f", $0) } ?? "—", money(r.revenue),
            ])
        }
        flush()
        return out
    }

    static func percent(_ value: Double?) -> String {
        value.map { String(format: "%.1f%%", $0 * 100) } ?? "—"
    }

    static func duration(_ seconds: Double?) -> String {
        guard let s = seconds else { return "—" }
        if s < 120 { return String(format: "%.0fs", s) }
        if s < 7200 { return String(format: "%.1fm", s / 60) }
        if s < 172_800 { return String(format: "%.1fh", s / 3600) }
        return String(format: "%.1fd", s / 86_400)
    }

    static func money(_ text: String) -> String {
        guard let value = Double(text) else { return text }
        return String(format: "%.2f", value)
    }
}
