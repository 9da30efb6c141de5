import JourneyCore

/// A plain recomputation of the journey semantics (duplicates from docs/events.md, docs/semantics.md, docs/sql.md) for differential
/// tests: clear rather than fast, and sharing no matching or engine code with JourneyCore.
public enum ReferenceJourneys {
    /// Computes instances, critical moments and the funnel.
    ///
    /// - Parameters:
    ///   - journeys: The journey definitions, in configuration order.
    ///   - arrivals: Events in arrival order. An event whose id arrived before is a duplicate and
    ///     is dropped (the first arrival wins).
    ///   - asOf: The end of the replay; every deadline before it takes effect. Nil means the
    ///     largest `ts` among the accepted events.
    ///   - defaultPersona: The persona of a customer before any of their events carried one.
    /// - Returns: What the engine must produce when every arrival is within the allowed lateness.
    public static func compute(
        journeys: [JourneyDefinition], arrivals: [TouchpointEvent], asOf: EventTime?,
        defaultPersona: String = "unknown"
    ) -> ReferenceResult {
        var seenIDs = Set<String>()
        var accepted: [(arrival: Int, event: TouchpointEvent)] = []
        for (index, event) in arrivals.enumerated() where seenIDs.insert(event.eventID).inserted {
            accepted.append((index, event))
        }
        let end = asOf ?? accepted.map(\.event.time).max()

        let byCustomer = Dictionary(grouping: accepted, by: \.event.customerID)
        var instances: [ReferenceInstance] = []
        var moments: [ReferenceMoment] = []
        var touchpoints: [ReferenceTouchpointKey: (events: Int, customers: Int)] = [:]
        var outcomes: [ReferenceRepeatOutcome] = []
        for (customerID, events) in byCustomer {
            // Per customer, (ts, arrival) order; deadlines before each event's ts come first.
            let ordered = events.sorted { ($0.event.time, $0.arrival) < ($1.event.time, $1.arrival) }
            var replay = ReferenceCustomerReplay(
                customerID: customerID, journeys: journeys, defaultPersona: defaultPersona)
            for (_, event) in ordered {
                replay.fireDeadlines(before: event.time)
                replay.apply(event)
            }
            if let end { replay.fireDeadlines(before: end) }
            instances += replay.instanceRows()
            if let end { outcomes += replay.repeatOutcomes(end: end) }
            moments += replay.moments
            var allPersonas = Set<ReferenceTouchpointKey>()
            for (key, count) in replay.touchpointEvents {
                touchpoints[key, default: (0, 0)].events += count
                touchpoints[key, default: (0, 0)].customers += 1
                var all = key
                all.persona = "*"
                touchpoints[all, default: (0, 0)].events += count
                allPersonas.insert(all)
            }
            for all in allPersonas { touchpoints[all, default: (0, 0)].customers += 1 }
        }

        instances.sort {
            ReferenceOrder.precedes(($0.journey, $0.customerID, $0.instance), ($1.journey, $1.customerID, $1.instance))
        }
        moments.sort {
            let left = ($0.journey, $0.customerID, $0.instance)
            let right = ($1.journey, $1.customerID, $1.instance)
            if left == right { return $0.detectedAt < $1.detectedAt }
            return ReferenceOrder.precedes(left, right)
        }
        return ReferenceResult(
            instances: instances, moments: moments,
            funnel: ReferenceFunnel.rows(journeys: journeys, instances: instances),
            acceptedEvents: accepted.count, duplicateEvents: arrivals.count - accepted.count,
            touchpoints: touchpoints.map {
                ReferenceTouchpointRow(
                    journey: $0.key.journey, stageIndex: $0.key.stageIndex, touchpoint: $0.key.touchpoint,
                    persona: $0.key.persona, events: $0.value.events, customers: $0.value.customers)
            }.sorted(by: ReferenceOrder.precedes),
            funnelByPersona: ReferenceFunnel.rowsByPersona(journeys: journeys, instances: instances),
            repeatLoop: repeatRows(journeys: journeys, outcomes: outcomes),
            repeatTriggers: triggerRows(outcomes: outcomes)
        )
    }

    /// `cjm.repeat_loop`'s rows from the outcomes of every converted instance.
    private static func repeatRows(journeys: [JourneyDefinition], outcomes: [ReferenceRepeatOutcome])
        -> [ReferenceRepeatRow]
    {
        var rows: [ReferenceRepeatRow] = []
        for journey in journeys {
            let mine = outcomes.filter { $0.journey == journey.name }
            let personas = Set(mine.map(\.persona)).sorted(by: ReferenceOrder.precedes)
            for persona in ["*"] + personas {
                var row = ReferenceRepeatRow(journey: journey.name, persona: persona)
                for outcome in mine where persona == "*" || outcome.persona == persona {
                    row.converted += 1
                    if outcome.windowEndsAtEnd { row.windowsEndingAtEnd += 1 }
                    switch outcome.kind {
                    case .returned:
                        row.returned += 1
                        row.timesToReturn.append(outcome.timeToReturn!)
                    case .pending: row.pending += 1
                    case .didNotReturn: row.didNotReturn += 1
                    }
                }
                row.timesToReturn.sort()
                rows.append(row)
            }
        }
        return rows
    }

    /// `cjm.repeat_triggers`' counts from the outcomes of every converted instance.
    private static func triggerRows(outcomes: [ReferenceRepeatOutcome]) -> [ReferenceTriggerRow] {
        var counts: [String: ReferenceTriggerRow] = [:]
        for outcome in outcomes {
            guard let trigger = outcome.trigger else { continue }
            let key = "\(outcome.journey)\u{0}\(trigger.event)\u{0}\(trigger.touchpoint)"
            counts[
                key,
                default: ReferenceTriggerRow(
                    journey: outcome.journey, event: trigger.event, touchpoint: trigger.touchpoint, returns: 0)
            ].returns += 1
        }
        return counts.values.sorted {
            if $0.journey != $1.journey { return ReferenceOrder.precedes($0.journey, $1.journey) }
            if $0.event != $1.event { return ReferenceOrder.precedes($0.event, $1.event) }
            return ReferenceOrder.precedes($0.touchpoint, $1.touchpoint)
        }
    }
}

/// The row order of the reference's results: strings in UTF-8 byte order (PostgreSQL's `C` collation).
public enum ReferenceOrder {
    /// Whether `a` sorts before `b` in UTF-8 byte order.
    public static func precedes(_ a: String, _ b: String) -> Bool {
        a.utf8.lexicographicallyPrecedes(b.utf8)
    }

    /// Orders touchpoint rows by journey, stage, touchpoint and persona.
    public static func precedes(_ a: ReferenceTouchpointRow, _ b: ReferenceTouchpointRow) -> Bool {
        if a.journey != b.journey { return precedes(a.journey, b.journey) }
        if a.stageIndex != b.stageIndex { return a.stageIndex < b.stageIndex }
        if a.touchpoint != b.touchpoint { return precedes(a.touchpoint, b.touchpoint) }
        return precedes(a.persona, b.persona)
    }

    /// Orders (journey, customer, instance) keys: journey, then customer, then instance number.
    public static func precedes(_ a: (String, String, Int), _ b: (String, String, Int)) -> Bool {
        if a.0 != b.0 { return precedes(a.0, b.0) }
        if a.1 != b.1 { return precedes(a.1, b.1) }
        return a.2 < b.2
    }
}
