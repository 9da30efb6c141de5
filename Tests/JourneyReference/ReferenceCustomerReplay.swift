import JourneyCore

/// The journey state of one customer, advanced one event or one deadline at a time, exactly as
/// docs/semantics.md describes it. Customers never affect each other, so the
/// reference replays them one by one.
struct ReferenceCustomerReplay {
    let customerID: String
    let journeys: [JourneyDefinition]

    /// Every instance so far, per journey (same order as `journeys`), oldest first.
    private(set) var instances: [[InstanceState]]
    private(set) var moments: [ReferenceMoment] = []
    /// Events attributed per (journey, stage, touchpoint, persona of the instance); the keys
    /// are what the customer met (each counts the customer once in `cjm.touchpoints.customers`).
    private(set) var touchpointEvents: [ReferenceTouchpointKey: Int] = [:]

    /// The customer's persona now: the value of the latest applied event that carried one.
    /// Events are applied in (ts, arrival) order, so the latest applied is the latest by time.
    private var persona: String

    // The customer's last applied event, in any journey.
    private var lastSeen: EventTime?
    private var lastEvent = ""
    private var lastTouchpoint = ""

    init(customerID: String, journeys: [JourneyDefinition], defaultPersona: String) {
        self.customerID = customerID
        self.persona = defaultPersona
        self.journeys = journeys
        self.instances = Array(repeating: [], count: journeys.count)
    }

    struct InstanceState {
        var number: Int
        var enteredAt: EventTime
        var stage: Int
        var reachedAt: [EventTime?]
        var status: ReferenceStatus
        var lastSeen: EventTime
        var exitedAt: EventTime?
        /// Index in `moments` of the unrecovered `inactive` moment while flagged abandoned.
        var flaggedMoment: Int?
        var painPoints: [ReferencePainPoint] = []
        var events: [Int]
        var sentimentSum: [Double]
        var sentimentCount: [Int]
        var revenue: [DecimalText]
        /// The customer's persona when the instance entered.
        var persona: String
        /// The event that opened the instance (name, touchpoint): a return's trigger.
        var enteringEvent: String
        var enteringTouchpoint: String

        var isOpen: Bool { exitedAt == nil }
    }

    private enum DeadlineKind: Int, Comparable {
        // Raw values give the order of two deadlines due at the same time: abandonment first.
        case abandonment = 0
        case expiry = 1
        static func < (lhs: Self, rhs: Self) -> Bool { lhs.rawValue < rhs.rawValue }
    }

    private struct Deadline {
        var time: EventTime
        var kind: DeadlineKind
        var journeyIndex: Int
    }

    private func openInstanceIndex(journey j: Int) -> Int? {
        guard let last = instances[j].indices.last, instances[j][last].isOpen else { return nil }
        return last
    }

    /// Every deadline currently pending for the customer's open instances.
    private func pendingDeadlines() -> [Deadline] {
        var result: [Deadline] = []
        for (j, journey) in journeys.enumerated() {
            guard let i = openInstanceIndex(journey: j) else { continue }
            let instance = instances[j][i]
            let isLastStage = instance.stage == journey.stages.count - 1
            if instance.flaggedMoment == nil, !isLastStage, let silence = journey.stages[instance.stage].abandonAfter,
                let lastSeen
            {
                result.append(Deadline(time: lastSeen + silence, kind: .abandonment, journeyIndex: j))
            }
            result.append(Deadline(time: instance.enteredAt + journey.conversionWindow, kind: .expiry, journeyIndex: j))
        }
        return result
    }

    /// Lets every deadline d < `limit` take effect, earliest first. Firing one deadline never
    /// creates an earlier one, so repeatedly taking the earliest pending deadline is exact.
    mutating func fireDeadlines(before limit: EventTime) {
        while let next = pendingDeadlines()
            .filter({ $0.time < limit })
            .min(by: { ($0.time, $0.kind, $0.journeyIndex) < ($1.time, $1.kind, $1.journeyIndex) })
        {
            switch next.kind {
            case .abandonment: flagAbandoned(journey: next.journeyIndex, at: next.time)
            case .expiry: expire(journey: next.journeyIndex, at: next.time)
            }
        }
    }

    private mutating func flagAbandoned(journey j: Int, at deadline: EventTime) {
        guard let i = openInstanceIndex(journey: j) else { return }
        moments.append(moment(journey: j, instance: i, reason: .inactive, at: deadline))
        instances[j][i].status = .abandoned
        instances[j][i].flaggedMoment = moments.count - 1
    }

    private mutating func expire(journey j: Int, at deadline: EventTime) {
        guard let i = openInstanceIndex(journey: j) else { return }
        instances[j][i].exitedAt = deadline
        // Abandoned and then the window ran out: it stays abandoned and gets no second moment.
        if instances[j][i].status != .abandoned {
            instances[j][i].status = .expired
            moments.append(moment(journey: j, instance: i, reason: .windowExpired, at: deadline))
        }
    }

    private func moment(journey j: Int, instance i: Int, reason: ReferenceMomentReason, at deadline: EventTime)
        -> ReferenceMoment
    {
        let instance = instances[j][i]
        let stageReached = instance.reachedAt[instance.stage] ?? instance.enteredAt
        return ReferenceMoment(
            journey: journeys[j].name, customerID: customerID, instance: instance.number,
            stageIndex: instance.stage, stage: journeys[j].stages[instance.stage].name, reason: reason,
            lastEvent: lastEvent, lastTouchpoint: lastTouchpoint, lastSeen: lastSeen ?? instance.lastSeen,
            timeInStage: deadline - stageReached, painPoints: Array(instance.painPoints.suffix(50)),
            detectedAt: deadline, recoveredAt: nil, persona: instance.persona
        )
    }

    /// Applies one event (after the caller fired the deadlines before its time).
    mutating func apply(_ event: TouchpointEvent) {
        lastSeen = event.time
        lastEvent = event.name
        lastTouchpoint = event.touchpoint
        if let carried = event.persona { persona = carried }
        for j in journeys.indices {
            apply(event, journey: j)
        }
    }

    private mutating func apply(_ event: TouchpointEvent, journey j: Int) {
        let journey = journeys[j]
        // Activity counts in every journey, even one the event is restricted away from.
        if let i = openInstanceIndex(journey: j) {
            instances[j][i].lastSeen = event.time
            if let flagged = instances[j][i].flaggedMoment {
                moments[flagged].recoveredAt = event.time
                instances[j][i].status = .active
                instances[j][i].flaggedMoment = nil
            }
        }
        guard ReferenceMatching.isVisible(event, in: journey) else { return }
        let matched = ReferenceMatching.firstMatchingStage(name: event.name, touchpoint: event.touchpoint, in: journey)

        let target: Int
        if let i = openInstanceIndex(journey: j) {
            target = i
            let current = instances[j][i].stage
            if let matched, matched == current + 1,
                event.time <= instances[j][i].enteredAt + journey.conversionWindow
            {
                instances[j][i].stage = matched
                instances[j][i].reachedAt[matched] = event.time
                if matched == journey.stages.count - 1 {
                    instances[j][i].status = .converted
                    instances[j][i].exitedAt = event.time
                }
            }
        } else if matched == 0 {
            let count = journey.stages.count
            var reached = [EventTime?](repeating: nil, count: count)
            reached[0] = event.time
            instances[j].append(
                InstanceState(
                    number: instances[j].count + 1, enteredAt: event.time, stage: 0, reachedAt: reached,
                    status: .active, lastSeen: event.time, exitedAt: nil, flaggedMoment: nil,
                    events: Array(repeating: 0, count: count), sentimentSum: Array(repeating: 0, count: count),
                    sentimentCount: Array(repeating: 0, count: count),
                    revenue: Array(repeating: DecimalText(micros: 0), count: count), persona: persona,
                    enteringEvent: event.name, enteringTouchpoint: event.touchpoint
                ))
            target = instances[j].count - 1
        } else {
            return  // no instance involved: the event is activity only in this journey
        }

        // Attribution goes to the instance the event was applied to, at its stage after the event.
        // A converting event counts at the last stage (docs/semantics.md, attribution).
        let stage = instances[j][target].stage
        instances[j][target].events[stage] += 1
        touchpointEvents[
            ReferenceTouchpointKey(
                journey: journey.name, stageIndex: stage, touchpoint: event.touchpoint,
                persona: instances[j][target].persona), default: 0] += 1
        if let sentiment = event.sentiment {
            instances[j][target].sentimentSum[stage] += sentiment
            instances[j][target].sentimentCount[stage] += 1
        }
        if let revenue = event.revenue {
            instances[j][target].revenue[stage] = instances[j][target].revenue[stage] + revenue
        }
        if instances[j][target].isOpen, ReferenceMatching.isPainPoint(event, in: journey) {
            instances[j][target].painPoints.append(
                ReferencePainPoint(
                    event: event.name, touchpoint: event.touchpoint, ts: event.time,
                    stage: journey.stages[stage].name, stageIndex: stage, sentiment: event.sentiment
                ))
        }
    }

    /// What became of each converted instance at the end of the replay (docs/semantics.md,
    /// "The repeat loop"), from the customer's instances alone: returned when the next
    /// instance of the journey entered within the repeat window after the conversion; pending
    /// while there is no next instance and the window has not ended by `end` (it ends at
    /// `end` when every event up to `end` was applied); otherwise did not return.
    func repeatOutcomes(end: EventTime) -> [ReferenceRepeatOutcome] {
        var outcomes: [ReferenceRepeatOutcome] = []
        for (j, journey) in journeys.enumerated() {
            for (i, instance) in instances[j].enumerated() where instance.status == .converted {
                guard let exit = instance.exitedAt else { continue }
                let windowEnd = exit + journey.repeatWindow
                var outcome = ReferenceRepeatOutcome(journey: journey.name, persona: instance.persona, kind: .pending)
                if i + 1 < instances[j].count {
                    let next = instances[j][i + 1]
                    if next.enteredAt <= windowEnd {
                        outcome.kind = .returned
                        outcome.timeToReturn = next.enteredAt - exit
                        outcome.trigger = (next.enteringEvent, next.enteringTouchpoint)
                    } else {
                        outcome.kind = .didNotReturn
                    }
                } else if windowEnd <= end {
                    outcome.kind = .didNotReturn
                }
                outcome.windowEndsAtEnd = windowEnd == end || windowEnd == end + TimeSpan(microseconds: 1)
                outcomes.append(outcome)
            }
        }
        return outcomes
    }

    /// The customer's instances as result rows.
    func instanceRows() -> [ReferenceInstance] {
        var rows: [ReferenceInstance] = []
        for (j, journey) in journeys.enumerated() {
            for instance in instances[j] {
                rows.append(
                    ReferenceInstance(
                        journey: journey.name, customerID: customerID, instance: instance.number,
                        enteredAt: instance.enteredAt, stageIndex: instance.stage,
                        stage: journey.stages[instance.stage].name,
                        reachedAt: instance.reachedAt, status: instance.status, lastSeen: instance.lastSeen,
                        exitedAt: instance.exitedAt, events: instance.events, sentimentSum: instance.sentimentSum,
                        sentimentCount: instance.sentimentCount, revenue: instance.revenue, persona: instance.persona
                    ))
            }
        }
        return rows
    }
}
