import DaemonSettings
import JourneyCore

extension CJMConfiguration {
    /// One line for the log at start-up and reload, e.g.
    /// `2 journeys (purchase: 4 stages, onboarding: 3 stages); 3 sources (…); metrics on 127.0.0.1:9464`.
    public var logSummary: String {
        let journeyList = journeys.map { "\($0.name): \($0.stages.count) stages" }.joined(separator: ", ")
        let sourceList = sources.map(\.name).joined(separator: ", ")
        let metrics = service.metricsListen.map { "metrics on \($0)" } ?? "metrics off"
        return "\(journeys.count) journey\(journeys.count == 1 ? "" : "s") (\(journeyList)); "
            + "\(sources.count) source\(sources.count == 1 ? "" : "s") (\(sourceList)); \(metrics)"
    }
}
