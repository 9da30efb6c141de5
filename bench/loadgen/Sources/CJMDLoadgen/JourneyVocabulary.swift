/// The event names the synthetic customers use, per stage of the benchmarked journey.
/// The defaults match the `purchase` journey of config/cjmd.yaml; `--stage-events` replaces
/// them for another configuration.
struct JourneyVocabulary: Sendable {
    /// Per stage, the event names that reach it (any one of them).
    var stageEvents: [[String]]
    /// Events that match no stage: activity only.
    var activityEvents: [String] = ["page_view", "search", "cart_view"]
    /// A pain point of the shipped configuration (`critical.events`).
    var painEvent = "support_ticket"

    static let shipped = JourneyVocabulary(stageEvents: [
        ["ad_impression", "email_open", "landing_home"],
        ["product_view", "compare"],
        ["payment_done"],
        ["repeat_purchase", "review_posted"],
    ])

    /// Parses `a,b|c|d`: stages separated by `|`, a stage's events by `,`.
    init(parsing text: String) throws(LoadgenError) {
        let stages = text.split(separator: "|").map { $0.split(separator: ",").map(String.init) }
        guard stages.count >= 2, stages.allSatisfy({ !$0.isEmpty }) else {
            throw .usage("--stage-events \(text): expected at least two stages, e.g. ad_impression|product_view|payment_done")
        }
        stageEvents = stages
    }

    init(stageEvents: [[String]]) {
        self.stageEvents = stageEvents
    }
}
