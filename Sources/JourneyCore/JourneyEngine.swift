/// The journey state machine of SPEC §3: reorder buffer, watermark, instances, deadlines.
///
/// Pure and deterministic: time comes in only through event times and the watermark the
/// caller sets (wall clock − lateness live, largest `ts` − lateness in a replay), so a replay
/// of the same events yields the same changes as live ingestion. The engine never does I/O;
/// the store takes ``takeChanges()`` after each batch and writes them in one transaction.
/// When that transaction fails, the caller discards the engine and restores a new one from
/// the database (``EngineSnapshot``), which is the same path as a restart.
public struct JourneyEngine: ~Copyable {
    public let catalog: JourneyCatalog
    public let allowedLateness: TimeSpan

    /// Events with `ts` below the watermark have been applied; deadlines below it have fired.
    public private(set) var watermark: EventTime
    /// Largest event time accepted so far.
    public private(set) var maxEventTime: EventTime

    private var customers: [CustomerState] = []
    private var customerIndex: [String: Int32] = [:]
    private var buffer = ReorderBuffer()
    private var deadlines = MinHeap<ScheduledDeadline> { $0.time < $1.time }
    private var changes = ChangeCollector()
    private var detector: DropOffDetector

    /// Creates an engine continuing from a snapshot (an empty snapshot starts fresh).
    public init(
        catalog: JourneyCatalog, allowedLateness: TimeSpan, alerts: AlertSettings = AlertSettings(),
        restoring snapshot: EngineSnapshot = .init()
    ) {
        self.catalog = catalog
        self.allowedLateness = allowedLateness
        self.detector = DropOffDetector(catalog: catalog, settings: alerts, restoring: snapshot.alerts)
        self.watermark = snapshot.watermark
        self.maxEventTime = snapshot.maxEventTime
        for (journey, customerID, count, furthest) in snapshot.instanceCounts where journey < catalog.journeys.count {
            let idx = customer(customerID)
            customers[Int(idx)].history[journey].instances = max(customers[Int(idx)].history[journey].instances, count)
            customers[Int(idx)].history[journey].furthestStage = max(customers[Int(idx)].history[journey].furthestStage, Int32(furthest))
        }
        // Looked up once per open instance: a linear search would make a restore quadratic
        // (open instances × flagged moments), minutes at tens of thousands of each.
        var flaggedMoments: [InstanceKey: CriticalMomentRecord] = [:]
        flaggedMoments.reserveCapacity(snapshot.openMoments.count)
        for moment in snapshot.openMoments {
            let key = InstanceKey(journey: moment.journey, customer: moment.customerID, instance: moment.instance)
            if flaggedMoments[key] == nil { flaggedMoments[key] = moment }
        }
        for record in snapshot.openInstances where record.journey < catalog.journeys.count
            && record.stages.count == catalog.journeys[record.journey].stages.count {
            let idx = customer(record.customerID)
            var state = customers[Int(idx)]
            if record.lastSeen >= state.lastSeen {
                state.lastSeen = record.lastSeen
                state.lastEvent = record.lastEvent
                state.lastTouchpoint = record.lastTouchpoint
            }
            state.history[record.journey].instances = max(state.history[record.journey].instances, record.instance)
            state.history[record.journey].furthestStage = max(state.history[record.journey].furthestStage, Int32(record.stageIndex))
            let flagged = flaggedMoments[InstanceKey(journey: record.journey, customer: record.customerID, instance: record.instance)]
            if state.open[record.journey] == nil { openInstances += 1 }
            state.open[record.journey] = OpenInstance(record: record, flaggedMoment: record.status == .abandoned ? flagged : nil)
            customers[Int(idx)] = state
            reschedule(idx)
        }
        for pending in snapshot.pendingEvents {
            buffer.push(pending.event, sequence: pending.sequence)
        }
    }

    // MARK: Input

    /// Accepts a new (already de-duplicated) event. It waits in the reorder buffer until the
    /// watermark passes it, or is applied at once when the watermark already has (late).
    /// - Returns: true when the event was late.
    @discardableResult
    public mutating func ingest(_ event: TouchpointEvent, sequence: Int64) -> Bool {
        if event.time > maxEventTime { maxEventTime = event.time }
        if event.time < watermark {
            changes.lateEvents += 1
            apply(event)
            return true
        }
        buffer.push(event, sequence: sequence)
        return false
    }

    /// Moves the watermark forward (never back) to `newWatermark`: applies buffered events
    /// with `ts` below it and fires every deadline below it, per customer in time order.
    public mutating func advanceWatermark(to newWatermark: EventTime) {
        guard newWatermark > watermark else { return }
        while let next = buffer.popFirst(where: { $0 < newWatermark }) {
            apply(next)
        }
        fireDeadlines(before: newWatermark)
        watermark = newWatermark
        detector.evaluate(through: watermark)
    }

    /// The replay watermark: largest `ts` seen − allowed lateness.
    public mutating func advanceReplayWatermark() {
        guard maxEventTime > .distantPast else { return }
        advanceWatermark(to: maxEventTime - allowedLateness)
    }

    /// End of a replay: applies every buffered event with `ts ≤ asOf` and fires every deadline
    /// before `asOf` (docs/semantics.md). Events after `asOf` stay buffered.
    public mutating func finish(asOf: EventTime) {
        while let next = buffer.popFirst(where: { $0 <= asOf }) {
            apply(next)
        }
        fireDeadlines(before: asOf)
        let after = asOf + TimeSpan(microseconds: 1)
        if after > watermark { watermark = after }
        detector.evaluate(through: watermark)
    }

    /// Events waiting in the reorder buffer.
    public var bufferedEvents: Int { buffer.count }

    /// The smallest `ts` in the reorder buffer: every stored event at or after it is unapplied.
    public var pendingFrom: EventTime? { buffer.firstTime }

    /// The last minute boundary the drop-off detector evaluated (nil before any decision).
    public var alertsEvaluatedThrough: EventTime? { detector.evaluatedThrough.map { EventTime(minuteIndex: $0) } }

    /// The drop-off alerts firing now.
    public var firingAlerts: [DropOffAlert] { detector.firingAlerts }

    /// Open instances held in memory.
    public private(set) var openInstances = 0

    /// Everything changed since the last call, for the store to write.
    public mutating func takeChanges() -> EngineChanges {
        var result = EngineChanges()
        result.instances = changes.closed
        for slot in changes.touchedOpen {
            if let open = customers[Int(slot.customer)].open[slot.journey] {
                result.instances.append(open.record)
            }
        }
        result.moments = Array(changes.moments.values)
        result.touchpoints = changes.touchpoints
        result.lateEvents = changes.lateEvents
        result.appliedEvents = changes.appliedEvents
        result.decisions = changes.decisions
        result.funnel = changes.funnel
        result.timeToNext = changes.timeToNext
        result.alerts = detector.takeChangedAlerts()
        result.alertTransitions = detector.takeTransitions()
        changes = ChangeCollector()
        return result
    }

    // MARK: Applying one event

    private mutating func customer(_ id: String) -> Int32 {
        if let idx = customerIndex[id] { return idx }
        let idx = Int32(customers.count)
        customers.append(CustomerState(id: id, journeyCount: catalog.journeys.count))
        customerIndex[id] = idx
        return idx
    }

    private mutating func apply(_ event: TouchpointEvent) {
        let idx = customer(event.customerID)
        fireCustomerDeadlines(idx, before: event.time)
        changes.appliedEvents += 1
        var state = customers[Int(idx)]
        if event.time >= state.lastSeen {
            state.lastSeen = event.time
            state.lastEvent = event.name
            state.lastTouchpoint = event.touchpoint
        }
        let restriction: Int? = event.journey.map { catalog.journeyIndex(named: $0) ?? -1 }
        for j in 0..<catalog.journeys.count {
            let journey = catalog.journeys[j]
            var open = state.open[j]
            if open != nil, var moment = open!.flaggedMoment {
                moment.recoveredAt = event.time
                changes.record(moment)
                open!.flaggedMoment = nil
                changes.move(journey: j, stage: open!.record.stageIndex, from: open!.record.status, to: .active)
                open!.record.status = .active
            }
            if restriction == nil || restriction == j,
               let stage = catalog.stage(inJourney: j, event: event.name, touchpoint: event.touchpoint) {
                if open == nil {
                    if stage == 0 {
                        state.history[j].instances += 1
                        changes.reach(journey: j, stage: 0, history: &state.history[j])
                        changes.move(journey: j, stage: 0, from: nil, to: .active)
                        var stages = [StageTally](repeating: StageTally(), count: journey.stages.count)
                        stages[0].reachedAt = event.time
                        open = OpenInstance(record: InstanceRecord(
                            journey: j, customerID: state.id, instance: state.history[j].instances,
                            enteredAt: event.time, stageIndex: 0, status: .active, lastSeen: event.time, exitedAt: nil,
                            stages: stages, lastEvent: event.name, lastTouchpoint: event.touchpoint,
                            painPoints: [], moments: 0), flaggedMoment: nil)
                    }
                } else if stage == open!.record.stageIndex + 1,
                          event.time <= open!.record.enteredAt + journey.conversionWindow {
                    open!.record.stageIndex = stage
                    open!.record.stages[stage].reachedAt = event.time
                    decide(journey: j, stage: stage - 1, at: event.time, abandoned: false)
                    let converted = stage == journey.stages.count - 1
                    changes.reach(journey: j, stage: stage, history: &state.history[j])
                    changes.move(journey: j, stage: stage - 1, from: open!.record.status, to: nil)
                    changes.move(journey: j, stage: stage, from: nil, to: converted ? .converted : open!.record.status)
                    if let previous = open!.record.stages[stage - 1].reachedAt {
                        changes.timeToNext[TimeToNextKey(
                            journey: j, stageIndex: stage - 1, bucket: DurationBuckets.bucket(event.time - previous)), default: 0] += 1
                    }
                    if converted {
                        open!.record.status = .converted
                        open!.record.exitedAt = event.time
                    }
                }
            }
            if var current = open {
                current.record.lastSeen = state.lastSeen
                current.record.lastEvent = state.lastEvent
                current.record.lastTouchpoint = state.lastTouchpoint
                if restriction == nil || restriction == j {
                    attribute(event, to: &current.record, journey: j)
                }
                let wasOpen = state.open[j] != nil
                if current.record.isOpen {
                    if !wasOpen { openInstances += 1 }
                    state.open[j] = current
                    changes.touchedOpen.insert(SlotKey(customer: idx, journey: j))
                } else {
                    if wasOpen { openInstances -= 1 }
                    state.open[j] = nil
                    changes.closed.append(current.record)
                }
            }
        }
        customers[Int(idx)] = state
        reschedule(idx)
    }

    private mutating func attribute(_ event: TouchpointEvent, to record: inout InstanceRecord, journey j: Int) {
        let stage = record.stageIndex
        record.stages[stage].events += 1
        if let s = event.sentiment {
            record.stages[stage].sentimentCount += 1
            record.stages[stage].sentimentSum += s
        }
        if let r = event.revenue { record.stages[stage].revenue = record.stages[stage].revenue + r }
        changes.attribute(event, journey: j, stage: stage)
        if catalog.isPainPoint(inJourney: j, event: event.name, sentiment: event.sentiment) {
            record.painPoints.append(PainPoint(
                event: event.name, touchpoint: event.touchpoint, time: event.time, stageIndex: stage,
                sentiment: event.sentiment))
            if record.painPoints.count > PainPoint.retained {
                record.painPoints.removeFirst(record.painPoints.count - PainPoint.retained)
            }
        }
    }

    /// An instance left stage `stage`: forward, or by giving up (SPEC §5's decided instances).
    private mutating func decide(journey: Int, stage: Int, at time: EventTime, abandoned: Bool) {
        detector.record(journey: journey, stage: stage, at: time, abandoned: abandoned)
        let key = StageDecisionKey(journey: journey, stageIndex: stage, minute: time.minuteIndex)
        changes.decisions[key, default: DecisionCounts()] += abandoned ? DecisionCounts(abandoned: 1) : DecisionCounts(advanced: 1)
    }

    // MARK: Deadlines

    private func nextDeadline(_ state: CustomerState) -> EventTime? {
        var best: EventTime? = nil
        for j in 0..<state.open.count {
            guard let open = state.open[j] else { continue }
            let journey = catalog.journeys[j]
            var d = open.record.enteredAt + journey.conversionWindow
            if open.flaggedMoment == nil, let abandon = abandonDeadline(open.record, journey: journey, lastSeen: state.lastSeen) {
                d = min(d, abandon)
            }
            if best == nil || d < best! { best = d }
        }
        return best
    }

    private func abandonDeadline(_ record: InstanceRecord, journey: JourneyDefinition, lastSeen: EventTime) -> EventTime? {
        guard record.stageIndex < journey.stages.count - 1,
              let after = journey.stages[record.stageIndex].abandonAfter else { return nil }
        return lastSeen + after
    }

    private mutating func reschedule(_ idx: Int32) {
        let state = customers[Int(idx)]
        guard let next = nextDeadline(state) else { return }
        if let scheduled = state.scheduled, scheduled <= next { return }
        customers[Int(idx)].scheduled = next
        deadlines.push(ScheduledDeadline(time: next, customer: idx))
    }

    private mutating func fireDeadlines(before limit: EventTime) {
        while let top = deadlines.first, top.time < limit {
            deadlines.pop()
            guard customers[Int(top.customer)].scheduled == top.time else { continue }  // superseded
            customers[Int(top.customer)].scheduled = nil
            fireCustomerDeadlines(top.customer, before: limit)
            reschedule(top.customer)
        }
    }

    /// Fires the customer's deadlines before `limit` in time order; at one instant,
    /// abandonment before expiry.
    private mutating func fireCustomerDeadlines(_ idx: Int32, before limit: EventTime) {
        var state = customers[Int(idx)]
        var changed = false
        while let d = nextDeadline(state), d < limit {
            changed = true
            for j in 0..<state.open.count {
                guard var open = state.open[j], open.flaggedMoment == nil else { continue }
                let journey = catalog.journeys[j]
                guard abandonDeadline(open.record, journey: journey, lastSeen: state.lastSeen) == d else { continue }
                let k = open.record.stageIndex
                changes.move(journey: j, stage: k, from: open.record.status, to: .abandoned)
                open.record.status = .abandoned
                open.record.moments += 1
                let moment = CriticalMomentRecord(
                    journey: j, customerID: state.id, instance: open.record.instance, moment: open.record.moments,
                    stageIndex: k, reason: .inactive, lastEvent: state.lastEvent, lastTouchpoint: state.lastTouchpoint,
                    lastSeen: state.lastSeen, timeInStage: d - (open.record.stages[k].reachedAt ?? open.record.enteredAt),
                    painPoints: open.record.painPoints, detectedAt: d, recoveredAt: nil)
                open.flaggedMoment = moment
                changes.record(moment)
                decide(journey: j, stage: k, at: d, abandoned: true)
                state.open[j] = open
                changes.touchedOpen.insert(SlotKey(customer: idx, journey: j))
            }
            for j in 0..<state.open.count {
                guard var open = state.open[j] else { continue }
                let journey = catalog.journeys[j]
                guard open.record.enteredAt + journey.conversionWindow == d else { continue }
                open.record.exitedAt = d
                if open.flaggedMoment == nil {
                    let k = open.record.stageIndex
                    changes.move(journey: j, stage: k, from: open.record.status, to: .expired)
                    open.record.status = .expired
                    open.record.moments += 1
                    decide(journey: j, stage: k, at: d, abandoned: true)
                    changes.record(CriticalMomentRecord(
                        journey: j, customerID: state.id, instance: open.record.instance, moment: open.record.moments,
                        stageIndex: k, reason: .windowExpired, lastEvent: state.lastEvent,
                        lastTouchpoint: state.lastTouchpoint, lastSeen: state.lastSeen,
                        timeInStage: d - (open.record.stages[k].reachedAt ?? open.record.enteredAt),
                        painPoints: open.record.painPoints, detectedAt: d, recoveredAt: nil))
                }
                changes.closed.append(open.record)
                state.open[j] = nil
                openInstances -= 1
            }
        }
        if changed { customers[Int(idx)] = state }
    }
}

/// What the engine needs to continue where a previous run (or a failed batch) left off.
public struct EngineSnapshot: Sendable {
    public var watermark: EventTime = .distantPast
    public var maxEventTime: EventTime = .distantPast
    /// Open instances (status active or abandoned, not exited).
    public var openInstances: [InstanceRecord] = []
    /// The unrecovered `inactive` moments of open abandoned instances.
    public var openMoments: [CriticalMomentRecord] = []
    /// Instances each customer already had per journey, and the furthest stage any of them
    /// reached (journey index, customer, count, stage index).
    public var instanceCounts: [(Int, String, Int32, Int)] = []
    /// Stored events not applied yet, with their arrival sequence.
    public var pendingEvents: [(event: TouchpointEvent, sequence: Int64)] = []
    /// The drop-off detector's counts, firing alerts and position.
    public var alerts = DropOffDetector.Snapshot()
    public init() {}
}

// MARK: - Internal state

private struct ScheduledDeadline {
    var time: EventTime
    var customer: Int32
}

private struct OpenInstance {
    var record: InstanceRecord
    /// Boxed: only flagged instances have one, and inline it would almost double the size of
    /// every open instance held in memory.
    private var flaggedBox: FlaggedMomentBox?

    init(record: InstanceRecord, flaggedMoment: CriticalMomentRecord?) {
        self.record = record
        self.flaggedBox = flaggedMoment.map(FlaggedMomentBox.init)
    }

    /// The unrecovered `inactive` moment while the instance is flagged abandoned.
    var flaggedMoment: CriticalMomentRecord? {
        get { flaggedBox?.moment }
        set { flaggedBox = newValue.map(FlaggedMomentBox.init) }
    }
}

/// An immutable box, so `OpenInstance` keeps value semantics.
private final class FlaggedMomentBox: Sendable {
    let moment: CriticalMomentRecord
    init(_ moment: CriticalMomentRecord) { self.moment = moment }
}

private struct CustomerState {
    let id: String
    var lastSeen: EventTime = .distantPast
    var lastEvent = ""
    var lastTouchpoint = ""
    var history: [CustomerJourneyHistory]
    var open: [OpenInstance?]
    /// The earliest deadline entry of this customer in the schedule, if any.
    var scheduled: EventTime?

    init(id: String, journeyCount: Int) {
        self.id = id
        self.history = Array(repeating: CustomerJourneyHistory(), count: journeyCount)
        self.open = Array(repeating: nil, count: journeyCount)
    }
}

/// What the engine remembers of a customer's past instances in one journey.
struct CustomerJourneyHistory {
    /// Instances opened so far (the next one gets this + 1).
    var instances: Int32 = 0
    /// The furthest stage any instance reached (−1: none yet), for distinct customers.
    var furthestStage: Int32 = -1
}

private struct SlotKey: Hashable {
    var customer: Int32
    var journey: Int
}

private struct MomentKey: Hashable {
    var journey: Int
    var customer: String
    var instance: Int32
    var moment: Int32
}

/// One journey instance of one customer.
private struct InstanceKey: Hashable {
    var journey: Int
    var customer: String
    var instance: Int32
}

private struct ChangeCollector {
    var touchedOpen: Set<SlotKey> = []
    var closed: [InstanceRecord] = []
    var moments: [MomentKey: CriticalMomentRecord] = [:]
    var touchpoints: [TouchpointKey: TouchpointTally] = [:]
    var lateEvents = 0
    var appliedEvents = 0
    var decisions: [StageDecisionKey: DecisionCounts] = [:]
    var funnel: [FunnelStageKey: FunnelTally] = [:]
    var timeToNext: [TimeToNextKey: Int64] = [:]

    /// An instance reached `stage`: one more reached, and one more customer when no earlier
    /// instance of theirs got that far.
    mutating func reach(journey: Int, stage: Int, history: inout CustomerJourneyHistory) {
        let key = FunnelStageKey(journey: journey, stageIndex: stage)
        funnel[key, default: FunnelTally()].reached += 1
        if Int32(stage) > history.furthestStage {
            history.furthestStage = Int32(stage)
            funnel[key, default: FunnelTally()].customers += 1
        }
    }

    /// An instance at `stage` changed status (nil: it arrived at or left the stage).
    mutating func move(journey: Int, stage: Int, from old: InstanceRecord.Status?, to new: InstanceRecord.Status?) {
        guard old != new else { return }
        let key = FunnelStageKey(journey: journey, stageIndex: stage)
        if let old { funnel[key, default: FunnelTally()].count(old, -1) }
        if let new { funnel[key, default: FunnelTally()].count(new, 1) }
    }

    mutating func record(_ moment: CriticalMomentRecord) {
        moments[MomentKey(journey: moment.journey, customer: moment.customerID, instance: moment.instance,
                          moment: moment.moment)] = moment
    }

    mutating func attribute(_ event: TouchpointEvent, journey: Int, stage: Int) {
        let key = TouchpointKey(journey: journey, stageIndex: stage, touchpoint: event.touchpoint)
        touchpoints[key, default: TouchpointTally()].add(event)
    }
}

extension TouchpointTally {
    mutating func add(_ event: TouchpointEvent) {
        events += 1
        if let s = event.sentiment {
            sentimentCount += 1
            sentimentSum += s
        }
        if let r = event.revenue { revenue = revenue + r }
        customers.insert(event.customerID)
    }
}
