import DaemonSettings
import JourneyCore

extension CJMConfiguration {
    /// One line for the log at start-up and reload, e.g.
    /// `2 journeys (purchase: 4 stages, onboarding: 3 stages); 3 sources (…); metrics on 127.0.0.1:9464;
    /// retention events 90d, dead letters 30d`.
    public var logSummary: String {
        let journeyList = journeys.map { "\($0.name): \($0.stages.count) stages" }.joined(separator: ", ")
        let sourceList = sources.map(\.name).joined(separator: ", ")
        let metrics = service.metricsListen.map { "metrics on \($0)" } ?? "metrics off"
        let kept = [
            retention.events.map { "events \($0)" }, retention.rejectedEvents.map { "dead letters \($0)" },
        ].compactMap { $0 }
        let retained = kept.isEmpty ? "raw events kept for good" : "retention \(kept.joined(separator: ", "))"
        return "\(journeys.count) journey\(journeys.count == 1 ? "" : "s") (\(journeyList)); "
            + "\(sources.count) source\(sources.count == 1 ? "" : "s") (\(sourceList)); \(metrics); \(retained)"
    }

    /// What the drop-off detector will do, for `cjmd check-config`, e.g.
    /// `alerts: 1h window against the preceding 1d; at most 0.5 false alarms per stage-month
    /// (p ≤ 1.1e-05 per evaluation); watching purchase/awareness, purchase/consideration;
    /// not watched (no abandon_after): purchase/purchase`.
    public var alertSummary: String {
        let baseline: String
        switch alerts.baseline {
        case .preceding(let span): baseline = "the preceding \(span)"
        case .sameHourDays(let days): baseline = "the same hours of the \(days) days before"
        case .sameHourWeeks(let weeks): baseline = "the same hours of the week in the \(weeks) weeks before"
        }
        let rule =
            alerts.z.map { "fires at z ≥ \($0)" }
            ?? "at most \(alerts.falseAlarmsPerMonth) false alarms per stage-month "
            + "(p ≤ \(ProbabilityText.format(alerts.level ?? 0)) per evaluation)"
        var watched: [String] = []
        var unwatched: [String] = []
        for journey in journeys {
            for (index, stage) in journey.stages.enumerated().dropLast() {
                let name = "\(journey.name)/\(stage.name)"
                if DropOffDetector.isWatched(stage: index, of: journey) {
                    watched.append(name)
                } else {
                    unwatched.append(name)
                }
            }
        }
        var summary = "alerts: \(alerts.window) window against \(baseline); \(rule); "
        summary += watched.isEmpty ? "watching no stage" : "watching \(watched.joined(separator: ", "))"
        if !unwatched.isEmpty { summary += "; not watched (no abandon_after): \(unwatched.joined(separator: ", "))" }
        return summary
    }

    /// What retention keeps, for `cjmd check-config` and the start-up log, e.g.
    /// `retention: raw events 90d behind the watermark, dead letters 30d; journeys, moments,
    /// aggregates and alerts for good`.
    public var retentionSummary: String {
        let events = retention.events.map { "raw events \($0) behind the watermark" } ?? "raw events for good"
        let rejected = retention.rejectedEvents.map { "dead letters \($0)" } ?? "dead letters for good"
        return "retention: \(events), \(rejected); journeys, critical moments, aggregates and alerts for good"
    }
}
