import DaemonSettings
import EventDecoding
import IngestEnvelope
import JourneyCore

/// An event older than the retention horizon, arriving after its day's raw events were (or
/// may have been) dropped: it is dead-lettered (`behind_retention`) rather than stored, since
/// its stored copy, were it a repeat, may be gone and it would be counted twice.
enum BehindRetention {
    /// The dead letter of `accepted`. The line's bytes are not kept past decoding, so `raw`
    /// is the event as cjmd accepted it, written out as one JSON object with the wire names.
    static func deadLetter(_ accepted: AcceptedEvent, horizon: EventTime, retention: TimeSpan) -> RejectedLine {
        RejectedLine(
            reason: .behindRetention,
            detail: "ts: \(accepted.event.time) is before the retention horizon \(horizon) "
                + "(retention.events \(retention) behind the watermark): raw events of that day are no longer "
                + "kept, so the event can neither be checked for a repeat nor stored",
            raw: Array(json(accepted.event).utf8), source: accepted.source, receivedAt: accepted.receivedAt)
    }

    /// The event as a JSON object: `event_id`, `customer_id`, `event`, `ts`, `touchpoint`, and
    /// `journey`, `sentiment`, `revenue`, `properties` when present.
    static func json(_ event: TouchpointEvent) -> String {
        var fields = [
            "\"event_id\":\(quoted(event.eventID))", "\"customer_id\":\(quoted(event.customerID))",
            "\"event\":\(quoted(event.name))", "\"ts\":\(quoted(event.time.description))",
            "\"touchpoint\":\(quoted(event.touchpoint))",
        ]
        if let journey = event.journey { fields.append("\"journey\":\(quoted(journey))") }
        if let sentiment = event.sentiment { fields.append("\"sentiment\":\(sentiment)") }
        if let revenue = event.revenue { fields.append("\"revenue\":\(revenue)") }
        if let properties = event.propertiesJSON { fields.append("\"properties\":\(properties)") }
        return "{" + fields.joined(separator: ",") + "}"
    }

    /// A JSON string literal.
    private static func quoted(_ text: String) -> String {
        var out = ""
        SQLText.appendJSONString(&out, text)
        return out
    }
}
