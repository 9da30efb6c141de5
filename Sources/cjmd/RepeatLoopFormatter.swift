import Foundation
import JourneyStore

/// Renders `cjm.repeat_loop` rows for `cjmd report --loop`.
enum RepeatLoopFormatter {
    static func csv(_ rows: [RepeatLoopRow]) -> String {
        var out = RepeatLoopRow.columns.joined(separator: ",") + "\n"
        for row in rows {
            out += row.fields.map { FunnelFormatter.csvField($0 ?? "") }.joined(separator: ",") + "\n"
        }
        return out
    }

    static func json(_ rows: [RepeatLoopRow]) -> String {
        let objects: [[String: Any]] = rows.map { row in
            [
                "journey": row.journey, "persona": row.persona, "converted": row.converted,
                "returned": row.returned, "pending": row.pending, "did_not_return": row.didNotReturn,
                "return_rate": row.returnRate ?? NSNull(), "median_time_to_return": row.medianTimeToReturn ?? NSNull(),
                "p90_time_to_return": row.p90TimeToReturn ?? NSNull(),
                "repeat_window": row.repeatWindowSeconds ?? NSNull(),
            ]
        }
        let data =
            (try? JSONSerialization.data(withJSONObject: objects, options: [.prettyPrinted, .sortedKeys]))
            ?? Data("[]".utf8)
        return String(decoding: data, as: UTF8.self)
    }

    /// One block per journey: a line per persona (`*` first), then the events that brought
    /// customers back most. `ofEveryCustomer`: the rows are one persona's, and the triggers
    /// (counted per journey only) are labelled as every customer's.
    static func table(_ rows: [RepeatLoopRow], triggers: [RepeatTriggerRow], ofEveryCustomer: Bool = false) -> String {
        let header = [
            "persona", "converted", "returned", "pending", "did not return", "return rate", "median→return",
            "p90→return",
        ]
        var out = ""
        var order: [String] = []
        for row in rows where !order.contains(row.journey) { order.append(row.journey) }
        for journey in order {
            let mine = rows.filter { $0.journey == journey }
            let window = mine.first?.repeatWindowSeconds.map { FunnelFormatter.duration($0) } ?? "—"
            out += "journey \(journey) · repeat loop (returns within \(window) of converting)\n"
            let table =
                [header]
                + mine.map {
                    [
                        $0.persona, "\($0.converted)", "\($0.returned)", "\($0.pending)", "\($0.didNotReturn)",
                        FunnelFormatter.percent($0.returnRate), FunnelFormatter.duration($0.medianTimeToReturn),
                        FunnelFormatter.duration($0.p90TimeToReturn),
                    ]
                }
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
            let brought = triggers.filter { $0.journey == journey }
            if !brought.isEmpty {
                out +=
                    (ofEveryCustomer ? "brought back (every customer) by: " : "brought back by: ")
                    + brought.map { "\($0.event) @ \($0.touchpoint) \(FunnelFormatter.percent($0.share))" }.joined(
                        separator: " · ") + "\n"
            }
            out += "\n"
        }
        return out
    }
}
