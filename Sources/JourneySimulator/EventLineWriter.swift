import JourneyCore

/// Writes simulated events as NDJSON lines in the wire format of docs/events.md.
enum EventLineWriter {
    static func line(for event: SimulatedEvent, eventID: String?) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(200)
        out.append(contentsOf: "{".utf8)
        if let eventID {
            field(&out, "event_id", eventID)
            out.append(UInt8(ascii: ","))
        }
        field(&out, "customer_id", event.customerID)
        out.append(UInt8(ascii: ","))
        field(&out, "event", event.name)
        out.append(UInt8(ascii: ","))
        field(&out, "ts", RFC3339.format(event.time))
        out.append(UInt8(ascii: ","))
        field(&out, "touchpoint", event.touchpoint)
        if let sentiment = event.sentiment {
            out.append(contentsOf: ",\"sentiment\":\(sentiment)".utf8)
        }
        if let cents = event.revenueCents {
            out.append(contentsOf: ",\"revenue\":\(cents / 100).\(cents % 100 < 10 ? "0" : "")\(cents % 100)".utf8)
        }
        if let persona = event.persona {
            out.append(contentsOf: ",\"traits\":{\"persona\":".utf8)
            appendJSONString(&out, persona)
            out.append(UInt8(ascii: "}"))
        }
        out.append(contentsOf: ",\"properties\":{\"simulated\":true}}\n".utf8)
        return out
    }

    private static func field(_ out: inout [UInt8], _ key: String, _ value: String) {
        out.append(UInt8(ascii: "\""))
        out.append(contentsOf: key.utf8)
        out.append(contentsOf: "\":".utf8)
        appendJSONString(&out, value)
    }

    /// JSON string literal with the escapes RFC 8259 requires.
    static func appendJSONString(_ out: inout [UInt8], _ value: String) {
        out.append(UInt8(ascii: "\""))
        for byte in value.utf8 {
            switch byte {
            case UInt8(ascii: "\""): out.append(contentsOf: "\\\"".utf8)
            case UInt8(ascii: "\\"): out.append(contentsOf: "\\\\".utf8)
            case 0x0A: out.append(contentsOf: "\\n".utf8)
            case 0x0D: out.append(contentsOf: "\\r".utf8)
            case 0x09: out.append(contentsOf: "\\t".utf8)
            case 0..<0x20:
                let hex = Array("0123456789abcdef".utf8)
                out.append(contentsOf: "\\u00".utf8)
                out.append(hex[Int(byte >> 4)])
                out.append(hex[Int(byte & 0xF)])
            default: out.append(byte)
            }
        }
        out.append(UInt8(ascii: "\""))
    }
}

/// Malformed lines, one per rejection reason in turn, so a simulated file exercises the
/// dead-letter path the way real traffic does.
enum MalformedLines {
    static func line(number: Int, event: SimulatedEvent) -> [UInt8] {
        switch number % 6 {
        case 0: return Array("this is not json at all\n".utf8)
        case 1: return Array("[\"an\", \"array\"]\n".utf8)
        case 2: return Array("{\"event\":\"\(event.name)\",\"ts\":\"\(RFC3339.format(event.time))\"}\n".utf8)
        case 3: return Array("{\"customer_id\":42,\"event\":\"x\",\"ts\":\"\(RFC3339.format(event.time))\"}\n".utf8)
        case 4:
            return Array(
                "{\"customer_id\":\"\(event.customerID)\",\"event\":\"x\",\"ts\":\"1999-01-01T00:00:00Z\"}\n".utf8)
        default: return [0x7B, 0x22, 0xFF, 0xFE, 0x22, 0x7D, 0x0A]  // invalid UTF-8
        }
    }
}
