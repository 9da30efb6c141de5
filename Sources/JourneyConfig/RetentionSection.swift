import DaemonSettings
import JourneyCore

extension ConfigReader {
    /// `retention:` — how long raw events and dead letters are kept (docs/storage.md).
    func readRetention(_ field: Field?, allowedLateness: TimeSpan) -> RetentionSettings {
        var settings = RetentionSettings()
        guard let section = section(field, named: "retention", knownKeys: ["events", "rejected_events"]) else {
            return settings
        }
        settings.events = retention(section["events"], what: "raw events")
        if let events = settings.events, events <= allowedLateness, let eventsField = section["events"] {
            report(
                "retention.events (\(events)) must be longer than ingest.allowed_lateness (\(allowedLateness)): "
                    + "an event that is late but allowed would otherwise be dropped on arrival",
                at: eventsField)
            settings.events = nil
        }
        settings.rejectedEvents = retention(section["rejected_events"], what: "dead letters")
        return settings
    }

    /// A retention of at least a day (partitions hold one day each); nil when absent or null.
    private func retention(_ field: Field?, what: String) -> TimeSpan? {
        guard let span = duration(field, positive: true, nullMeansAbsent: true).value, let field else { return nil }
        guard span >= RetentionSettings.minimum else {
            report(
                "\(what) are kept a whole day at a time: write 1d or longer, or leave the key out to keep them for good",
                at: field)
            return nil
        }
        return span
    }
}
