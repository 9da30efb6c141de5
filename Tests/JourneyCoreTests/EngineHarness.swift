import JourneyCore
import JourneyReference

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
    /// Customers of every instance handed out so far.
    var customersHandedOut = Set<String>()

    /// - Parameter slice: when above 0, each batch's advance is begun with slices of
    ///   `beginAdvance(to:limit:)` of this many steps, as a replay does between chunks
    ///   of its COPY; the result must not change.
    static func run(journeys: [JourneyDefinition], lateness: TimeSpan, arrivals: [TouchpointEvent],
                    batchSize: Int, asOf: EventTime? = nil, slice: Int = 0) -> EngineHarness {
        var harness = EngineHarness()
        var engine = JourneyEngine(catalog: JourneyCatalog(journeys: journeys), allowedLateness: lateness)
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
        // A customer called new at a touchpoint must be new to the store: no instance of
        // theirs handed out before, and not also among the known ones at the same key.
        for (key, tally) in changes.touchpoints {
            for customer in tally.newCustomers where customersHandedOut.contains(customer) || tally.customers.contains(customer) {
                newnessErrors.append("touchpoint \(key.touchpoint) customer \(customer) called new but handed out before")
            }
        }
        defer { customersHandedOut.formUnion(changes.instances.map(\.customerID)) }
        for (index, r) in changes.instances.enumerated() {
            let journey = journeys[r.journey]
            let handedOut = instances["\(journey.name)|\(r.customerID)|\(r.instance)"] != nil
            if handedOut == (index < changes.newInstanceCount) {
                newnessErrors.append("instance \(journey.name)|\(r.customerID)|\(r.instance) new: \(!handedOut)")
            }
            instances["\(journey.name)|\(r.customerID)|\(r.instance)"] = ReferenceInstance(
                journey: journey.name, customerID: r.customerID, instance: Int(r.instance), enteredAt: r.enteredAt,
                stageIndex: r.stageIndex, stage: journey.stages[r.stageIndex].name, reachedAt: r.stages.map(\.reachedAt),
                status: ReferenceStatus(rawValue: r.status.rawValue)!, lastSeen: r.lastSeen, exitedAt: r.exitedAt,
                events: r.stages.map { Int($0.events) }, sentimentSum: r.stages.map(\.sentimentSum),
                sentimentCount: r.stages.map { Int($0.sentimentCount) }, revenue: r.stages.map(\.revenue))
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
                    ReferencePainPoint(event: $0.event, touchpoint: $0.touchpoint, ts: $0.time,
                                       stage: journey.stages[$0.stageIndex].name, stageIndex: $0.stageIndex,
                                       sentiment: $0.sentiment)
                },
                detectedAt: m.detectedAt, recoveredAt: m.recoveredAt)
        }
    }

    var sortedInstances: [ReferenceInstance] {
        instances.values.sorted { ($0.journey, $0.customerID, $0.instance) < ($1.journey, $1.customerID, $1.instance) }
    }

    var sortedMoments: [ReferenceMoment] {
        moments.values.sorted {
            ($0.journey, $0.customerID, $0.instance, $0.detectedAt.microseconds)
                < ($1.journey, $1.customerID, $1.instance, $1.detectedAt.microseconds)
        }
    }
}
