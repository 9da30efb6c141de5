import JourneyCore

/// The `cjm.funnel` view (docs/sql.md), recomputed from instance rows.
public enum ReferenceFunnel {
    /// One row per journey (in the given order) and stage, also for stages nobody reached.
    /// `persona`: only that persona's instances (`cjm.funnel_by_persona`); nil: all of them.
    public static func rows(journeys: [JourneyDefinition], instances: [ReferenceInstance], persona: String? = nil)
        -> [ReferenceFunnelRow]
    {
        var rows: [ReferenceFunnelRow] = []
        for journey in journeys {
            let mine = instances.filter { $0.journey == journey.name && (persona == nil || $0.persona == persona) }
            let stageCount = journey.stages.count
            let reached = (0..<stageCount).map { k in mine.filter { $0.stageIndex >= k }.count }
            for k in 0..<stageCount {
                let isLast = k == stageCount - 1
                let next: Int? = isLast ? nil : reached[k + 1]
                let step: Double? = next.flatMap { reached[k] == 0 ? nil : Double($0) / Double(reached[k]) }
                let durations: [Double] =
                    isLast
                    ? []
                    : mine.compactMap { instance in
                        guard let from = instance.reachedAt[k], let to = instance.reachedAt[k + 1] else { return nil }
                        return (to - from).seconds
                    }
                let sentimentCount = mine.reduce(0) { $0 + $1.sentimentCount[k] }
                let sentimentSum = mine.reduce(0.0) { $0 + $1.sentimentSum[k] }
                func count(_ status: ReferenceStatus) -> Int {
                    mine.filter { $0.status == status && $0.stageIndex == k }.count
                }
                rows.append(
                    ReferenceFunnelRow(
                        journey: journey.name, stageIndex: k, stage: journey.stages[k].name, reached: reached[k],
                        customers: Set(mine.filter { $0.stageIndex >= k }.map(\.customerID)).count,
                        convertedToNext: next, stepConversion: step,
                        overallConversion: reached[0] == 0 ? nil : Double(reached[k]) / Double(reached[0]),
                        dropOff: next.map { reached[k] - $0 }, dropOffRate: step.map { 1 - $0 },
                        active: count(.active), abandoned: count(.abandoned), expired: count(.expired),
                        medianTimeToNext: percentileCont(durations, fraction: 0.5),
                        p90TimeToNext: percentileCont(durations, fraction: 0.9),
                        events: mine.reduce(0) { $0 + $1.events[k] },
                        avgSentiment: sentimentCount == 0 ? nil : sentimentSum / Double(sentimentCount),
                        revenue: mine.reduce(DecimalText(micros: 0)) { $0 + $1.revenue[k] }
                    ))
                rows[rows.count - 1].persona = persona ?? "*"
            }
        }
        return rows
    }

    /// `cjm.funnel_by_persona`: per journey (in the given order), every persona with an
    /// instance in it (UTF-8 order), the funnel of that persona's instances.
    public static func rowsByPersona(journeys: [JourneyDefinition], instances: [ReferenceInstance])
        -> [ReferenceFunnelRow]
    {
        var rows: [ReferenceFunnelRow] = []
        for journey in journeys {
            let personas = Set(instances.filter { $0.journey == journey.name }.map(\.persona))
                .sorted(by: ReferenceOrder.precedes)
            for persona in personas {
                rows += Self.rows(journeys: [journey], instances: instances, persona: persona)
            }
        }
        return rows
    }

    /// PostgreSQL's `percentile_cont(fraction)`: the value at position fraction·(n−1) of the sorted
    /// values, interpolating linearly between the two neighbouring values; nil for no values.
    public static func percentileCont(_ values: [Double], fraction: Double) -> Double? {
        guard !values.isEmpty else { return nil }
        let sorted = values.sorted()
        let position = fraction * Double(sorted.count - 1)
        let lower = Int(position)  // position ≥ 0, so truncation is the floor
        let weight = position - Double(lower)
        let upper = weight > 0 ? lower + 1 : lower
        return sorted[lower] + (sorted[upper] - sorted[lower]) * weight
    }
}
