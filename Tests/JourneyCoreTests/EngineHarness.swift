import JourneyReference

@testable import JourneyCore

/// Drives a ``JourneyEngine`` the way the store does (dedupe by id, batches, replay watermark,
/// finish) and keeps the latest version of every instance and moment it reported, converted
/// to the reference model's types so the two can be compared field by field.
struct EngineHarness {
    var instances: [String: ReferenceInstance] = [:]
    var moments: [String: ReferenceMoment] = [:]
    var late = 0
    /// Records the engine called new although handed out before, or old although never
    /// handed out (``EngineChanges/newInstanceCount``, ``EngineChanges/newMomentCount``).
    var newnessErrors: [String] = []
    /// Attributed events and first meetings per journey, stage and touchpoint, summed over
    /// every change set (as `cjm.touchpoint_stats` adds them up).
    var touchpoints: [ReferenceTouchpointKey: (events: Int, customers: Int)] = [:]
    /// First meetings of each customer with each pair, from the instance records: each must
    /// appear once, on an instance of that customer.
    var firstTouches: [ReferenceTouchpointKey: Set<String>] = [:]
    /// The running funnel counters per journey name, stage and persona (`*` included), summed
    /// over every change set (as `cjm.funnel_stats` adds them up).
    var funnel: [String: FunnelTally] = [:]
    /// The repeat-loop counters per journey name and persona, return times per journey,
    /// persona and bucket, and returns per journey, event and touchpoint, summed over every
    /// change set (as `cjm.repeat_stats`, `cjm.return_time` and `cjm.repeat_trigger_stats`).
    var repeatLoop: [String: RepeatTally] = [:]
    var returnTimes: [String: Int64] = [:]
    var repeatTriggers: [String: Int64] = [:]
    /// The waiting conversions per "journey|customer", as `cjm.repeat_pending` holds them.
    var repeatPending: [String: RepeatPendingRecord] = [:]

    /// - Parameters:
    ///   - slice: when above 0, each batch's advance is begun with slices of
    ///     `beginAdvance(to:limit:)` of this many steps, as a replay does between chunks
    ///     of its COPY; the result must not change.
    ///   - lastEventNameCapacity: when set, the engine's table of last-event names holds
    ///     that many pairs at most (the rest are kept beside it); the result must not change.
    static func run(
        journeys: [JourneyDefinition], lateness: TimeSpan, arrivals: [TouchpointEvent],
        batchSize: Int, asOf: EventTime? = nil, slice: Int = 0, defaultPersona: String = "unknown",
        lastEventNameCapacity: Int? = nil
    ) -> EngineHarness {
        var harness = EngineHarness()
        var engine = JourneyEngine(
            catalog: JourneyCatalog(journeys: journeys), allowedLateness: lateness, defaultPersona: defaultPersona)
        if let lastEventNameCapacity { engine.boundLastEventNames(to: lastEventNameCapacity) }
        var seen = Set<String>()
        var sequence: Int64 = 0
        for (index, event) in arrivals.enumerated() {
            if seen.insert(event.eventID).inserted {
                sequence += 1
                if engine.ingest(event, sequence: sequence) { harness.late += 1 }
            }
            if (index + 1) % batchSize == 0 {
                if slice > 0, let target = engine.replayWatermark {
                    for _ in 0..<3 { engine.beginAdvance(to: target, limit: slice) }
                }
                engine.advanceReplayWatermark()
                harness.absorb(engine.takeChanges(), journeys: journeys)
            }
        }
        engine.advanceReplayWatermark()
        engine.finish(asOf: asOf ?? engine.maxEventTime)
        harness.absorb(engine.takeChanges(), journeys: journeys)
        return harness
    }

    mutating func absorb(_ changes: EngineChanges, journeys: [JourneyDefinition]) {
        for (key, tally) in changes.touchpoints {
            let name = ReferenceTouchpointKey(
                journey: journeys[key.journey].name, stageIndex: key.stageIndex, touchpoint: key.touchpoint,
                persona: key.persona)
            touchpoints[name, default: (0, 0)].events += Int(tally.events)
            touchpoints[name, default: (0, 0)].customers += Int(tally.customers)
        }
        for (key, tally) in changes.repeatLoop {
            repeatLoop["\(journeys[key.journey].name)|\(key.persona)", default: RepeatTally()] += tally
        }
        for (key, count) in changes.returnTimes {
            returnTimes["\(journeys[key.journey].name)|\(key.persona)|\(key.bucket)", default: 0] += count
        }
        for (key, count) in changes.repeatTriggers {
            repeatTriggers["\(journeys[key.journey].name)|\(key.event)|\(key.touchpoint)", default: 0] += count
        }
        for (journey, customer) in changes.repeatDecided {
            if repeatPending.removeValue(forKey: "\(journeys[journey].name)|\(customer)") == nil {
                newnessErrors.append("decided \(journeys[journey].name)|\(customer), which was not waiting")
            }
        }
        for record in changes.repeatPending {
            repeatPending["\(journeys[record.journey].name)|\(record.customerID)"] = record
        }
        for (key, tally) in changes.funnel {
            funnel["\(journeys[key.journey].name)|\(key.stageIndex)|\(key.persona)", default: FunnelTally()] += tally
        }
        for r in changes.instances {
            for pair in r.personaFirstTouches ?? r.firstTouches {
                let name = ReferenceTouchpointKey(
                    journey: journeys[r.journey].name, stageIndex: pair.stageIndex, touchpoint: pair.touchpoint,
                    persona: r.persona)
                if !firstTouches[name, default: []].insert(r.customerID).inserted {
                    newnessErrors.append("customer \(r.customerID) met \(name) for the first time twice")
                }
            }
            for pair in r.firstTouches {
                let name = ReferenceTouchpointKey(
                    journey: journeys[r.journey].name, stageIndex: pair.stageIndex, touchpoint: pair.touchpoint)
                if !firstTouches[name, default: []].insert(r.customerID).inserted {
                    newnessErrors.append("customer \(r.customerID) met \(name) for the first time twice")
                }
            }
        }
        for (index, r) in changes.instances.enumerated() {
            let journey = journeys[r.journey]
            let handedOut = instances["\(journey.name)|\(r.customerID)|\(r.instance)"] != nil
            if handedOut == (index < changes.newInstanceCount) {
                newnessErrors.append("instance \(journey.name)|\(r.customerID)|\(r.instance) new: \(!handedOut)")
            }
            instances["\(journey.name)|\(r.customerID)|\(r.instance)"] = ReferenceInstance(
                journey: journey.name, customerID: r.customerID, instance: Int(r.instance), enteredAt: r.enteredAt,
                stageIndex: r.stageIndex, stage: journey.stages[r.stageIndex].name,
                reachedAt: r.stages.map(\.reachedAt),
                status: ReferenceStatus(rawValue: r.status.rawValue)!, lastSeen: r.lastSeen, exitedAt: r.exitedAt,
                events: r.stages.map { Int($0.events) }, sentimentSum: r.stages.map(\.sentimentSum),
                sentimentCount: r.stages.map { Int($0.sentimentCount) }, revenue: r.stages.map(\.revenue),
                persona: r.persona)
        }
        for (index, m) in changes.moments.enumerated() {
            let journey = journeys[m.journey]
            let key = "\(journey.name)|\(m.customerID)|\(m.instance)|\(m.moment)"
            if (moments[key] != nil) == (index < changes.newMomentCount) {
                newnessErrors.append("moment \(key) new: \(moments[key] == nil)")
            }
            // Content is fixed at detection; only recovery changes later (as in the store's upsert).
            if var existing = moments[key] {
                existing.recoveredAt = m.recoveredAt
                moments[key] = existing
                continue
            }
            moments[key] = ReferenceMoment(
                journey: journey.name, customerID: m.customerID, instance: Int(m.instance), stageIndex: m.stageIndex,
                stage: journey.stages[m.stageIndex].name, reason: ReferenceMomentReason(rawValue: m.reason.rawValue)!,
                lastEvent: m.lastEvent, lastTouchpoint: m.lastTouchpoint, lastSeen: m.lastSeen,
                timeInStage: m.timeInStage,
                painPoints: m.painPoints.map {
                    ReferencePainPoint(
                        event: $0.event, touchpoint: $0.touchpoint, ts: $0.time,
                        stage: journey.stages[$0.stageIndex].name, stageIndex: $0.stageIndex,
                        sentiment: $0.sentiment)
                },
                detectedAt: m.detectedAt, recoveredAt: m.recoveredAt, persona: m.persona)
        }
    }

    var sortedInstances: [ReferenceInstance] {
        instances.values.sorted { ($0.journey, $0.customerID, $0.instance) < ($1.journey, $1.customerID, $1.instance) }
    }

    /// The touchpoint tallies as reference rows; they must also agree with the first meetings
    /// on the instance records.
    var sortedTouchpoints: [ReferenceTouchpointRow] {
        touchpoints.map {
            ReferenceTouchpointRow(
                journey: $0.key.journey, stageIndex: $0.key.stageIndex, touchpoint: $0.key.touchpoint,
                persona: $0.key.persona, events: $0.value.events, customers: $0.value.customers)
        }.sorted(by: ReferenceOrder.precedes)
    }

    /// Rows of the reference funnels (all instances and per persona) whose counters differ from
    /// the running totals; running totals no row explains (non-zero) are listed too.
    func funnelDisagreements(with expected: ReferenceResult) -> [String] {
        var problems: [String] = []
        var explained = Set<String>()
        for row in expected.funnel + expected.funnelByPersona {
            let key = "\(row.journey)|\(row.stageIndex)|\(row.persona)"
            explained.insert(key)
            let tally = funnel[key] ?? FunnelTally()
            let wanted = FunnelTally(
                reached: Int64(row.reached), customers: Int64(row.customers), active: Int64(row.active),
                abandoned: Int64(row.abandoned), expired: Int64(row.expired))
            if tally != wanted { problems.append("\(key): engine \(tally), reference \(wanted)") }
        }
        for (key, tally) in funnel where !explained.contains(key) && tally != FunnelTally() {
            problems.append("\(key): engine \(tally), no reference row")
        }
        return problems
    }

    /// Where the repeat loop's running totals, return times, triggers or waiting conversions
    /// differ from the reference's.
    func repeatDisagreements(with expected: ReferenceResult, journeys: [JourneyDefinition]) -> [String] {
        var problems: [String] = []
        var explainedTallies = Set<String>()
        var explainedBuckets = Set<String>()
        for row in expected.repeatLoop {
            let key = "\(row.journey)|\(row.persona)"
            explainedTallies.insert(key)
            let wanted = RepeatTally(
                converted: Int64(row.converted), returned: Int64(row.returned), didNotReturn: Int64(row.didNotReturn))
            let tally = repeatLoop[key] ?? RepeatTally()
            if tally != wanted { problems.append("repeat \(key): engine \(tally), reference \(wanted)") }
            let waiting = repeatPending.values.filter {
                journeys[$0.journey].name == row.journey && (row.persona == "*" || $0.persona == row.persona)
            }.count
            if waiting != row.pending { problems.append("pending \(key): engine \(waiting), reference \(row.pending)") }
            for (bucket, count) in row.returnTimeBuckets {
                explainedBuckets.insert("\(key)|\(bucket)")
                if returnTimes["\(key)|\(bucket)"] != Int64(count) {
                    problems.append(
                        "return time \(key)|\(bucket): engine \(returnTimes["\(key)|\(bucket)"] ?? 0), reference \(count)"
                    )
                }
            }
        }
        for (key, tally) in repeatLoop where !explainedTallies.contains(key) && tally != RepeatTally() {
            problems.append("repeat \(key): engine \(tally), no reference row")
        }
        for (key, count) in returnTimes where !explainedBuckets.contains(key) && count != 0 {
            problems.append("return time \(key): engine \(count), no reference row")
        }
        var wantedTriggers: [String: Int64] = [:]
        for row in expected.repeatTriggers {
            wantedTriggers["\(row.journey)|\(row.event)|\(row.touchpoint)"] = Int64(row.returns)
        }
        if repeatTriggers.filter({ $0.value != 0 }) != wantedTriggers {
            problems.append(
                "triggers: engine \(repeatTriggers.sorted { $0.key < $1.key }.prefix(4)), reference \(wantedTriggers.sorted { $0.key < $1.key }.prefix(4))"
            )
        }
        return problems
    }

    /// Pairs whose count of customers differs from the first meetings recorded on instances.
    var touchpointCountsDisagreeingWithInstances: [ReferenceTouchpointKey] {
        touchpoints.compactMap { key, value in
            value.customers == (firstTouches[key]?.count ?? 0) ? nil : key
        }
    }

    var sortedMoments: [ReferenceMoment] {
        moments.values.sorted {
            ($0.journey, $0.customerID, $0.instance, $0.detectedAt.microseconds)
                < ($1.journey, $1.customerID, $1.instance, $1.detectedAt.microseconds)
        }
    }
}
