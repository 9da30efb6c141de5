import JourneyCore

/// Text forms of values for COPY and jsonb that PostgreSQL reads back exactly.
enum SQLText {
    /// An interval in microseconds, e.g. `3600000000 microseconds`.
    static func interval(_ span: TimeSpan) -> String { "\(span.microseconds) microseconds" }

    /// Appends a JSON string literal (RFC 8259 escapes).
    static func appendJSONString(_ out: inout String, _ value: String) {
        out.append("\"")
        for scalar in value.unicodeScalars {
            switch scalar {
            case "\"": out.append("\\\"")
            case "\\": out.append("\\\\")
            case "\n": out.append("\\n")
            case "\r": out.append("\\r")
            case "\t": out.append("\\t")
            case "\u{0}"..."\u{1F}":
                let hex = String(scalar.value, radix: 16)
                out.append("\\u" + String(repeating: "0", count: 4 - hex.count) + hex)
            default: out.unicodeScalars.append(scalar)
            }
        }
        out.append("\"")
    }

    /// Pain points as a jsonb array of objects with the stage's name.
    static func painPoints(_ points: [PainPoint], journey: JourneyDefinition) -> String {
        var out = "["
        for (i, point) in points.enumerated() {
            if i > 0 { out.append(",") }
            out.append("{\"event\":")
            appendJSONString(&out, point.event)
            out.append(",\"touchpoint\":")
            appendJSONString(&out, point.touchpoint)
            out.append(",\"ts\":\"\(RFC3339.format(point.time))\",\"stage_index\":\(point.stageIndex),\"stage\":")
            appendJSONString(&out, journey.stages[point.stageIndex].name)
            out.append(",\"sentiment\":")
            out.append(point.sentiment.map { "\($0)" } ?? "null")
            out.append("}")
        }
        out.append("]")
        return out
    }

    /// A PostgreSQL array literal (`{a,b,NULL}`) of values that need no quoting.
    static func array(_ items: [String?]) -> String {
        "{" + items.map { $0 ?? "NULL" }.joined(separator: ",") + "}"
    }

    /// A `timestamptz[]` literal: quoted, since timestamps contain spaces and colons.
    static func timestampArray(_ times: [EventTime?]) -> String {
        "{" + times.map { $0.map { "\"\(RFC3339.format($0))\"" } ?? "NULL" }.joined(separator: ",") + "}"
    }

    /// A double that reads back bit for bit (Swift's description is shortest round-trip).
    static func double(_ value: Double) -> String { "\(value)" }
}

extension SQLText {
    /// A `text[]` literal with every element quoted and escaped.
    static func textArray(_ items: [String]) -> String {
        "{"
            + items.map { item in
                var quoted = "\""
                for ch in item.unicodeScalars {
                    if ch == "\"" || ch == "\\" { quoted.append("\\") }
                    quoted.unicodeScalars.append(ch)
                }
                return quoted + "\""
            }.joined(separator: ",") + "}"
    }
}
