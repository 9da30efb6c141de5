import JourneyCore

/// The body of `POST /api/v2/alerts` on Prometheus Alertmanager for drop-off alerts.
///
/// Alertmanager identifies an alert by its labels, so the labels hold only what names the
/// stage (journey, stage, stage index) and never the measured values; those go into the
/// annotations, which may change between posts without creating a new alert.
public enum AlertmanagerPayload {
    /// The `alertname` label of every drop-off alert.
    public static let alertName = "CJMDropOffSpike"

    /// The `severity` label of every drop-off alert.
    public static let severity = "warning"

    /// JSON array body for `POST /api/v2/alerts`: one object per alert with
    /// labels `alertname` (``alertName``), `journey`, `stage`, `stage_index`, `severity`;
    /// annotations `summary` (one readable sentence), `rate`, `baseline_rate`, `z` (`"inf"` when
    /// nil), `decided`, `abandoned`, `baseline_decided`, `window_start`, `window_end` (RFC 3339);
    /// `startsAt` = `firedAt`; `endsAt` = `resolvedAt` for a resolved alert, and for a firing one
    /// `firingTTL` after `now` (as Prometheus does, the sender re-posts before that passes).
    /// `generatorURL` is omitted.
    ///
    /// - Parameters:
    ///   - alerts: The alerts in their current state (firing or resolved).
    ///   - now: The wall-clock time of sending.
    ///   - firingTTL: How long Alertmanager keeps a firing alert active without a re-post.
    public static func encode(_ alerts: [DropOffAlert], now: EventTime, firingTTL: TimeSpan) -> [UInt8] {
        var json = JSONTextWriter(reservingCapacity: 600 * max(alerts.count, 1))
        json.beginArray()
        for alert in alerts {
            write(alert, to: &json, now: now, firingTTL: firingTTL)
        }
        json.endArray()
        return json.bytes
    }

    /// When Alertmanager should consider the alert over.
    ///
    /// A firing alert whose event time lies ahead of the wall clock (replayed or simulated
    /// future data) still needs `endsAt` after `startsAt`, or Alertmanager rejects it with 400.
    static func endsAt(of alert: DropOffAlert, now: EventTime, firingTTL: TimeSpan) -> EventTime {
        if let resolvedAt = alert.resolvedAt { return resolvedAt }
        return max(now, alert.firedAt) + firingTTL
    }

    /// One sentence an on-call person can act on without opening the database.
    static func summary(of alert: DropOffAlert) -> String {
        let z = alert.z.map { ReadableNumbers.fixed($0, decimals: 2) } ?? "inf"
        let who = alert.persona == PersonaSettings.all ? "" : " for persona \"\(alert.persona)\""
        return "Drop-off at stage \"\(alert.stageName)\" (index \(alert.stageIndex)) of journey "
            + "\"\(alert.journeyName)\"\(who) is \(ReadableNumbers.percent(alert.rate)) "
            + "(\(alert.abandoned) of \(alert.decided) decided) in the window "
            + "\(readableTime(alert.windowStart)) to \(readableTime(alert.windowEnd)), "
            + "against a baseline of \(ReadableNumbers.percent(alert.baselineRate)) (z = \(z)"
            + (alert.pValue.map { ", p = \(ProbabilityText.format($0))" } ?? "") + ")."
    }

    /// RFC 3339 without a fraction of zeros: windows are usually whole minutes.
    private static func readableTime(_ time: EventTime) -> String {
        let text = RFC3339.format(time)
        guard time.microseconds % 1_000_000 == 0, text.hasSuffix(".000000Z") else { return text }
        return String(text.dropLast(".000000Z".count)) + "Z"
    }

    private static func write(_ alert: DropOffAlert, to json: inout JSONTextWriter, now: EventTime, firingTTL: TimeSpan)
    {
        json.beginObject()
        json.key("labels")
        json.beginObject()
        json.member("alertname", alertName)
        json.member("journey", alert.journeyName)
        json.member("stage", alert.stageName)
        json.member("stage_index", String(alert.stageIndex))
        // Only the alerts of one persona's instances carry it (`alerts.by_persona`).
        if alert.persona != PersonaSettings.all { json.member("persona", alert.persona) }
        json.member("severity", severity)
        json.endObject()

        json.key("annotations")
        json.beginObject()
        json.member("summary", summary(of: alert))
        json.member("rate", String(alert.rate))
        json.member("baseline_rate", String(alert.baselineRate))
        json.member("z", alert.z.map { String($0) } ?? "inf")
        if let pValue = alert.pValue { json.member("p_value", String(pValue)) }
        json.member("decided", String(alert.decided))
        json.member("abandoned", String(alert.abandoned))
        json.member("baseline_decided", String(alert.baselineDecided))
        json.member("window_start", RFC3339.format(alert.windowStart))
        json.member("window_end", RFC3339.format(alert.windowEnd))
        json.endObject()

        json.member("startsAt", RFC3339.format(alert.firedAt))
        json.member("endsAt", RFC3339.format(endsAt(of: alert, now: now, firingTTL: firingTTL)))
        json.endObject()
    }
}
