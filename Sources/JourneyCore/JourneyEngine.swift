/// The journey state machine of docs/semantics.md: reorder buffer, watermark, instances, deadlines.
///
/// Pure and deterministic: time comes in only through event times and the watermark the
/// caller sets (wall clock − lateness live, largest `ts` − lateness in a replay), so a replay
/// of the same events yields the same changes as live ingestion. The engine never does I/O;
/// the store takes ``takeChanges()`` when it writes the derived rows (after a batch, or after
/// several), in one transaction.
/// When that transaction fails, the caller discards the engine and restores a new one from
/// the database (``EngineSnapshot``), which is the same path as a restart.
public struct JourneyEngine: ~Copyable {
    public let catalog: JourneyCatalog
    public let allowedLateness: TimeSpan

    /// Events with `ts` below the watermark have been applied; deadlines below it have fired.
    public private(set) var watermark: EventTime
    /// Largest event time accepted so far.
    public private(set) var maxEventTime: EventTime

    /// Customer ids by number; `customers` is indexed by the same numbers.
    private var directory = CustomerDirectory()
    private var customers: [CustomerState] = []
    /// Per customer and journey (customer × journey count + journey): history, open instance.
    private var slots: [JourneySlot] = []
    private var instances = InstancePool()
    private var buffer = ReorderBuffer()
    private var deadlines = MinHeap<ScheduledDeadline> { $0.time < $1.time }
    private var changes = ChangeCollector()
    /// One bit per slot: listed in `changes.touchedSlots` since the changes were last taken.
    /// A bit array rather than a set of slots: hashing a key per event and journey was a
    /// few percent of the engine's time.
    private var touchedBits: [UInt64] = []
    private var detector: DropOffDetector
    /// The touchpoint pairs every customer has met, per journey.
    private var marks: TouchpointMarks
    /// Personas by number, and what each customer did in each journey as each persona.
    private var personas: PersonaTable
    private var slotPersonas = SlotPersonas()
    /// Conversions waiting for their customer's return, and the loop's running totals.
    private var repeatLoop = RepeatLoop()
    /// Every customer's last event name and touchpoint (``CustomerState/lastEventCode``).
    private var lastEventNames = LastEventNames()

    /// Whether this engine judges drop-off alerts. A shard's engine sees one partition's
    /// customers: it counts the decisions (``EngineChanges/decisions``) and leaves judging to
    /// the daemon that judges over every partition (docs/scaling.md).
    public let judgesAlerts: Bool

    /// Creates an engine continuing from a snapshot (an empty snapshot starts fresh).
    public init(
        catalog: JourneyCatalog, allowedLateness: TimeSpan, alerts: AlertSettings = AlertSettings(),
        defaultPersona: String = PersonaSettings.standardDefault, restoring snapshot: EngineSnapshot = .init(),
        judgesAlerts: Bool = true
    ) {
        self.judgesAlerts = judgesAlerts
        self.catalog = catalog
        self.allowedLateness = allowedLateness
        self.personas = PersonaTable(defaultPersona: defaultPersona)
        self.detector = DropOffDetector(catalog: catalog, settings: alerts, restoring: snapshot.alerts)
        self.marks = TouchpointMarks(journeys: catalog.journeys.count)
        self.watermark = snapshot.watermark
        self.maxEventTime = snapshot.maxEventTime
        for stored in snapshot.customerJourneys where stored.journey < catalog.journeys.count {
            let s = slotIndex(customer(stored.customerID), stored.journey)
            slots[s].history.instances = max(slots[s].history.instances, stored.instances)
            slots[s].history.furthestStage = max(slots[s].history.furthestStage, Int32(stored.furthestStage))
            for pair in stored.touchpointPairs {
                _ = marks.mark(
                    slot: s,
                    code: marks.code(
                        journey: stored.journey, stageIndex: pair.stageIndex,
                        touchpoint: pair.touchpoint))
            }
            slotPersonas.restore(
                slot: s,
                histories: stored.personas.map { history in
                    (
                        persona: personas.code(of: history.persona), furthest: history.furthestStage,
                        pairs: history.touchpointPairs.map {
                            marks.code(journey: stored.journey, stageIndex: $0.stageIndex, touchpoint: $0.touchpoint)
                        },
                        isLatest: history.isLatest
                    )
                })
        }
        // Looked up once per open instance: a linear search would make a restore quadratic
        // (open instances × flagged moments), minutes at tens of thousands of each.
        var flaggedMoments: [InstanceKey: CriticalMomentRecord] = [:]
        flaggedMoments.reserveCapacity(snapshot.openMoments.count)
        for moment in snapshot.openMoments {
            let key = InstanceKey(journey: moment.journey, customer: moment.customerID, instance: moment.instance)
            if flaggedMoments[key] == nil { flaggedMoments[key] = moment }
        }
        for record in snapshot.openInstances
        where record.journey < catalog.journeys.count
            && record.stages.count == catalog.journeys[record.journey].stages.count
        {
            let idx = customer(record.customerID)
            if record.lastSeen >= customers[Int(idx)].lastSeen {
                customers[Int(idx)].lastSeen = record.lastSeen
                setLastEvent(of: idx, name: record.lastEvent, touchpoint: record.lastTouchpoint)
            }
            let s = slotIndex(idx, record.journey)
            slots[s].history.instances = max(slots[s].history.instances, record.instance)
            slots[s].history.furthestStage = max(slots[s].history.furthestStage, Int32(record.stageIndex))
            let flagged = flaggedMoments[
                InstanceKey(journey: record.journey, customer: record.customerID, instance: record.instance)]
            enterPersona(personas.code(of: record.persona), slot: s)
            store(OpenInstance(restoring: record, flaggedMoment: record.status == .abandoned ? flagged : nil), at: s)
            reschedule(idx)
        }
        for stored in snapshot.customerPersonas {
            let idx = customer(stored.customerID)
            customers[Int(idx)].persona = personas.code(of: stored.persona)
            // The event the persona came from was applied: the customer was seen then at least
            // (after the open instances, whose rows hold the customer's latest event).
            if stored.setAt > customers[Int(idx)].lastSeen { customers[Int(idx)].lastSeen = stored.setAt }
        }
        for stored in snapshot.repeatPending where stored.journey < catalog.journeys.count {
            repeatLoop.restore(
                slot: slotIndex(customer(stored.customerID), stored.journey),
                pending: RepeatLoop.Pending(
                    instance: stored.instance, persona: personas.code(of: stored.persona), exitedAt: stored.exitedAt),
                window: catalog.journeys[stored.journey].repeatWindow)
        }
        for pending in snapshot.pendingEvents {
            buffer.push(pending.event, sequence: pending.sequence, stages: catalog.stageMap(for: pending.event))
        }
    }

    /// Bounds the table of last-event names to `capacity` pairs, so that tests reach the
    /// customers whose pair is kept beside it. Before the first event only.
    mutating func boundLastEventNames(to capacity: Int) {
        precondition(customers.isEmpty, "bound the table of last-event names before any event")
        lastEventNames = LastEventNames(capacity: capacity)
    }

    // MARK: Input

    /// Accepts a new (already de-duplicated) event. It waits in the reorder buffer until the
    /// watermark passes it, or is applied at once when the watermark already has (late).
    /// - Returns: true when the event was late.
    @discardableResult
    public mutating func ingest(_ event: TouchpointEvent, sequence: Int64) -> Bool {
        ingest(event, sequence: sequence, stages: catalog.stageMap(for: event))
    }

    /// ``ingest(_:sequence:)`` of an event whose stages the caller matched already
    /// (``JourneyCatalog/stageMap(for:)`` of this engine's catalog), so that an event is
    /// matched once.
    @discardableResult
    public mutating func ingest(_ event: TouchpointEvent, sequence: Int64, stages: StageMap) -> Bool {
        if event.time > maxEventTime { maxEventTime = event.time }
        if event.time < watermark {
            changes.lateEvents += 1
            apply(event, stages: stages)
            return true
        }
        buffer.push(event, sequence: sequence, stages: stages)
        return false
    }

    /// Moves the watermark forward (never back) to `newWatermark`: applies buffered events
    /// with `ts` below it and fires every deadline below it, per customer in time order.
    public mutating func advanceWatermark(to newWatermark: EventTime) {
        guard newWatermark > watermark else { return }
        while let next = buffer.popFirst(where: { $0 < newWatermark }) {
            apply(next.event, stages: next.stages)
        }
        fireDeadlines(before: newWatermark)
        repeatLoop.expire(before: newWatermark, journeyCount: catalog.journeys.count)
        watermark = newWatermark
        if judgesAlerts { detector.evaluate(through: watermark) }
    }

    /// Does part of ``advanceWatermark(to:)``: at most `limit` of its steps — applying a
    /// buffered event with `ts` below `target`, then firing a customer's deadlines before
    /// it — in the order it would. The caller must then call `advanceWatermark(to: target)`,
    /// with no event ingested in between; the result is the same as that call alone. Lets a
    /// caller spread the work of one advance over time it waits for something else (a
    /// replay: the database digesting a COPY).
    public mutating func beginAdvance(to target: EventTime, limit: Int) {
        guard target > watermark else { return }
        var steps = 0
        while steps < limit, let next = buffer.popFirst(where: { $0 < target }) {
            apply(next.event, stages: next.stages)
            steps += 1
        }
        if steps < limit { fireDeadlines(before: target, limit: limit - steps) }
    }

    /// The replay watermark: largest `ts` seen − allowed lateness.
    public mutating func advanceReplayWatermark() {
        guard let target = replayWatermark else { return }
        advanceWatermark(to: target)
    }

    /// Where ``advanceReplayWatermark()`` would move the watermark (nil: no event yet).
    public var replayWatermark: EventTime? {
        maxEventTime > .distantPast ? maxEventTime - allowedLateness : nil
    }

    /// End of a replay: applies every buffered event with `ts ≤ asOf` and fires every deadline
    /// before `asOf` (docs/semantics.md). Events after `asOf` stay buffered.
    public mutating func finish(asOf: EventTime) {
        while let next = buffer.popFirst(where: { $0 <= asOf }) {
            apply(next.event, stages: next.stages)
        }
        fireDeadlines(before: asOf)
        let after = asOf + TimeSpan(microseconds: 1)
        // Every event up to `asOf` is applied: a repeat window ending at `asOf` is over.
        repeatLoop.expire(before: after, journeyCount: catalog.journeys.count)
        if after > watermark { watermark = after }
        if judgesAlerts { detector.evaluate(through: watermark) }
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

    /// About how many bytes the changes not yet taken will hold when taken (see
    /// ``takeChanges()``): a replay, which takes them rarely, keeps this under a budget.
    public var pendingChangeBytes: Int { changes.estimatedBytes + repeatLoop.changedRows * 96 }

    /// Everything changed since the last call, for the store to write.
    public mutating func takeChanges() -> EngineChanges {
        var result = EngineChanges()
        var written: [InstanceRecord] = []
        for closed in changes.closed {
            if closed.isNew { result.instances.append(closed.record) } else { written.append(closed.record) }
        }
        let journeyCount = catalog.journeys.count
        for slot in changes.touchedSlots {
            touchedBits[slot >> 6] &= ~(1 << UInt64(slot & 63))
            let index = slots[slot].open
            guard index >= 0 else { continue }
            let open = instances[index]
            let r = record(of: open, customer: Int32(slot / journeyCount), journey: slot % journeyCount, exitedAt: nil)
            if open.isNew {
                instances[index].isNew = false
                result.instances.append(r)
            } else {
                written.append(r)
            }
        }
        result.newInstanceCount = result.instances.count
        result.instances += written
        var recovered: [CriticalMomentRecord] = []
        for (key, moment) in changes.moments {
            if changes.newMoments.contains(key) { result.moments.append(moment) } else { recovered.append(moment) }
        }
        result.newMomentCount = result.moments.count
        result.moments += recovered
        for (journey, persona, code) in changes.touchedPairs {
            let pair = marks.pair(journey: journey, code: code)
            let tally = changes.touchpointTallies[Int(persona) * journeyCount + journey][Int(code)]
            result.touchpoints[
                TouchpointKey(
                    journey: journey, stageIndex: pair.stageIndex, touchpoint: pair.touchpoint,
                    persona: personas.name(persona))] = tally
            let all = TouchpointKey(journey: journey, stageIndex: pair.stageIndex, touchpoint: pair.touchpoint)
            var total = result.touchpoints[all] ?? TouchpointTally()
            total.events += tally.events
            total.sentimentCount += tally.sentimentCount
            total.sentimentSum += tally.sentimentSum
            total.revenue = total.revenue + tally.revenue
            let met = changes.touchpointCustomers
            total.customers = journey < met.count && Int(code) < met[journey].count ? met[journey][Int(code)] : 0
            result.touchpoints[all] = total
        }
        // The last change of each customer, once.
        var seen = [UInt64](repeating: 0, count: changes.personaChanges.isEmpty ? 0 : customers.count / 64 + 1)
        for (customer, setAt) in changes.personaChanges.reversed() {
            let bit = UInt64(1) << UInt64(customer & 63)
            guard seen[Int(customer >> 6)] & bit == 0 else { continue }
            seen[Int(customer >> 6)] |= bit
            result.personas.append(
                CustomerPersona(
                    customerID: directory.id(customer), persona: personas.name(customers[Int(customer)].persona),
                    setAt: setAt))
        }
        for (key, tally) in changes.funnel {
            let all = FunnelStageKey(journey: key.journey, stageIndex: key.stageIndex)
            if key.persona < 0 {
                result.funnel[all, default: FunnelTally()].customers += tally.customers
                continue
            }
            result.funnel[
                FunnelStageKey(journey: key.journey, stageIndex: key.stageIndex, persona: personas.name(key.persona))] =
                tally
            result.funnel[all, default: FunnelTally()] += FunnelTally(
                reached: tally.reached, active: tally.active, abandoned: tally.abandoned, expired: tally.expired)
        }
        for (key, count) in changes.timeToNext {
            result.timeToNext[
                TimeToNextKey(
                    journey: key.journey, stageIndex: key.stageIndex, bucket: key.bucket,
                    persona: personas.name(key.persona))] = count
            result.timeToNext[
                TimeToNextKey(journey: key.journey, stageIndex: key.stageIndex, bucket: key.bucket), default: 0] +=
                count
        }
        takeRepeatChanges(into: &result)
        result.lateEvents = changes.lateEvents
        result.appliedEvents = changes.appliedEvents
        result.decisions = changes.decisions
        result.alerts = detector.takeChangedAlerts()
        result.alertTransitions = detector.takeTransitions()
        changes = ChangeCollector()
        return result
    }

    /// Hands out the repeat loop's changes: per persona and, summed, for every persona.
    private mutating func takeRepeatChanges(into result: inout EngineChanges) {
        let journeyCount = catalog.journeys.count
        for (key, tally) in repeatLoop.tallies {
            let journey = key % journeyCount
            let persona = personas.name(Int32(key / journeyCount))
            result.repeatLoop[RepeatLoopKey(journey: journey, persona: persona), default: RepeatTally()] += tally
            result.repeatLoop[RepeatLoopKey(journey: journey), default: RepeatTally()] += tally
        }
        for (key, count) in repeatLoop.returnTimes {
            result.returnTimes[
                ReturnTimeKey(journey: key.journey, bucket: key.bucket, persona: personas.name(key.persona)),
                default: 0] += count
            result.returnTimes[ReturnTimeKey(journey: key.journey, bucket: key.bucket), default: 0] += count
        }
        result.repeatTriggers = repeatLoop.triggers
        for slot in repeatLoop.addedSlots {
            guard let conversion = repeatLoop.pending[slot] else { continue }
            result.repeatPending.append(
                RepeatPendingRecord(
                    journey: slot % journeyCount, customerID: directory.id(Int32(slot / journeyCount)),
                    instance: conversion.instance, exitedAt: conversion.exitedAt,
                    persona: personas.name(conversion.persona)))
        }
        for slot in repeatLoop.decidedSlots where !repeatLoop.addedSlots.contains(slot) {
            result.repeatDecided.append((slot % journeyCount, directory.id(Int32(slot / journeyCount))))
        }
        repeatLoop.clearChanges()
    }

    // MARK: Applying one event

    private mutating func customer(_ id: String) -> Int32 {
        let idx = directory.number(of: id)
        if Int(idx) == customers.count {
            customers.append(CustomerState())
            slots.append(contentsOf: repeatElement(JourneySlot(), count: catalog.journeys.count))
            marks.addSlots(catalog.journeys.count)
            slotPersonas.addSlots(catalog.journeys.count)
        }
        return idx
    }

    private func slotIndex(_ customer: Int32, _ journey: Int) -> Int {
        Int(customer) * catalog.journeys.count + journey
    }

    private func openInstance(at slot: Int) -> OpenInstance? {
        let index = slots[slot].open
        return index < 0 ? nil : instances[index]
    }

    /// The open instance of `slot`, moved out of the pool (see ``InstancePool/take(_:)``):
    /// the caller must ``store(_:at:)`` it back or ``close(at:)`` the slot.
    private mutating func takeOpenInstance(at slot: Int) -> OpenInstance? {
        let index = slots[slot].open
        return index < 0 ? nil : instances.take(index)
    }

    /// Keeps `instance` as the open one of `slot`.
    private mutating func store(_ instance: OpenInstance, at slot: Int) {
        let index = slots[slot].open
        if index < 0 {
            slots[slot].open = instances.add(instance)
            openInstances += 1
        } else {
            instances[index] = instance
        }
    }

    /// Remembers `name` at `touchpoint` as the customer's last event.
    private mutating func setLastEvent(of idx: Int32, name: String, touchpoint: String) {
        customers[Int(idx)].lastEventCode = lastEventNames.code(
            event: name, touchpoint: touchpoint, customer: idx, previous: customers[Int(idx)].lastEventCode)
    }

    /// Forgets the open instance of `slot`, if any.
    private mutating func close(at slot: Int) {
        let index = slots[slot].open
        guard index >= 0 else { return }
        instances.remove(index)
        slots[slot].open = -1
        openInstances -= 1
    }

    /// An instance of `persona` opens in `slot` (see ``SlotPersonas/enter(slot:persona:journeyHistory:)``).
    private mutating func enterPersona(_ persona: Int32, slot: Int) {
        let furthest = slots[slot].history.furthestStage
        let met = marks.met(slot: slot)
        slotPersonas.enter(slot: slot, persona: persona) {
            (SlotPersonas.History(furthest: furthest, mask: met.mask), met.overflow)
        }
    }

    /// Lists `slot` among those whose open instance changed, once.
    private mutating func markTouched(_ slot: Int) {
        let word = slot >> 6
        let bit: UInt64 = 1 << UInt64(slot & 63)
        if word >= touchedBits.count {
            touchedBits.append(contentsOf: repeatElement(0, count: word + 1 - touchedBits.count))
        }
        guard touchedBits[word] & bit == 0 else { return }
        touchedBits[word] |= bit
        changes.touchedSlots.append(slot)
    }

    /// The row of `cjm.journey_instances` for an instance, taking the pairs its customer met
    /// first since it was last handed out.
    private mutating func record(of open: OpenInstance, customer: Int32, journey: Int, exitedAt: EventTime?)
        -> InstanceRecord
    {
        let state = customers[Int(customer)]
        let last = lastEventNames.pair(state.lastEventCode, customer: customer)
        let slot = slotIndex(customer, journey)
        let firstCodes = changes.firstTouches.removeValue(forKey: slot)?.codes ?? []
        let personaCodes = changes.personaFirstTouches.removeValue(forKey: slot)?.codes
        let firstTouches = firstCodes.map { marks.pair(journey: journey, code: $0) }
        return InstanceRecord(
            journey: journey, customerID: directory.id(customer), instance: open.instance, enteredAt: open.enteredAt,
            stageIndex: open.stageIndex, status: open.status, lastSeen: state.lastSeen, exitedAt: exitedAt,
            stages: open.stages.padded(to: catalog.journeys[journey].stages.count), lastEvent: last.event,
            lastTouchpoint: last.touchpoint, painPoints: open.painPoints, moments: open.moments,
            firstTouches: firstTouches, persona: personas.name(slotPersonas.latest(slot)),
            personaFirstTouches: slotPersonas.keepsPairsPerPersona(slot)
                ? (personaCodes ?? []).map { marks.pair(journey: journey, code: $0) } : nil)
    }

    private mutating func apply(_ event: TouchpointEvent, stages: StageMap) {
        let idx = customer(event.customerID)
        fireCustomerDeadlines(idx, before: event.time)
        changes.appliedEvents += 1
        if event.time >= customers[Int(idx)].lastSeen {
            customers[Int(idx)].lastSeen = event.time
            setLastEvent(of: idx, name: event.name, touchpoint: event.touchpoint)
            // The persona of the latest event by time that carried one; at the same time,
            // the later one processed. Before the journeys: an entering event's own persona
            // counts. A late event behind the customer's latest changes nothing.
            if let persona = event.persona {
                customers[Int(idx)].persona = personas.code(of: persona)
                changes.personaChanges.append((idx, event.time))
            }
        }
        // A `journey` field restricts the event to one journey (the stage map honours it already).
        let restriction: Int? = event.journey.map { catalog.journeyIndex(named: $0) ?? -1 }
        for j in 0..<catalog.journeys.count {
            let journey = catalog.journeys[j]
            let slot = slotIndex(idx, j)
            // Moved out, and stored back or closed below: changed in place, not copied.
            var open = takeOpenInstance(at: slot)
            var exitedAt: EventTime? = nil
            if open != nil, var moment = open!.flaggedMoment {
                moment.recoveredAt = event.time
                changes.record(moment)
                open!.flaggedMoment = nil
                changes.move(
                    journey: j, stage: open!.stageIndex, persona: slotPersonas.latest(slot), from: open!.status,
                    to: .active)
                open!.status = .active
            }
            if let stage = stages[j] {
                if open == nil {
                    if stage == 0 {
                        repeatLoop.enter(
                            slot: slot, journey: j, journeyCount: catalog.journeys.count, event: event, at: event.time,
                            window: journey.repeatWindow)
                        let persona = customers[Int(idx)].persona
                        slots[slot].history.instances += 1
                        enterPersona(persona, slot: slot)
                        changes.reach(
                            journey: j, stage: 0, persona: persona,
                            newForPersona: slotPersonas.reach(
                                slot: slot, stage: 0, newForJourney: slots[slot].history.furthestStage < 0),
                            history: &slots[slot].history)
                        changes.move(journey: j, stage: 0, persona: persona, from: nil, to: .active)
                        open = OpenInstance(instance: slots[slot].history.instances, enteredAt: event.time)
                        open!.isNew = true
                    }
                } else if stage == open!.stageIndex + 1,
                    event.time <= open!.enteredAt + journey.conversionWindow
                {
                    let persona = slotPersonas.latest(slot)
                    open!.advance(to: stage, at: event.time)
                    decide(journey: j, stage: stage - 1, at: event.time, abandoned: false, persona: persona)
                    let converted = stage == journey.stages.count - 1
                    changes.reach(
                        journey: j, stage: stage, persona: persona,
                        newForPersona: slotPersonas.reach(
                            slot: slot, stage: stage, newForJourney: Int32(stage) > slots[slot].history.furthestStage),
                        history: &slots[slot].history)
                    changes.move(journey: j, stage: stage - 1, persona: persona, from: open!.status, to: nil)
                    changes.move(
                        journey: j, stage: stage, persona: persona, from: nil, to: converted ? .converted : open!.status
                    )
                    if let previous = open!.stages[stage - 1].reachedAt {
                        changes.timeToNext[
                            PersonaTimeBucket(
                                journey: j, stageIndex: stage - 1,
                                bucket: DurationBuckets.bucket(event.time - previous),
                                persona: persona), default: 0] += 1
                    }
                    if converted {
                        open!.status = .converted
                        exitedAt = event.time
                        repeatLoop.convert(
                            slot: slot, journey: j, journeyCount: catalog.journeys.count, instance: open!.instance,
                            persona: persona, at: event.time, window: journey.repeatWindow)
                    }
                }
            }
            if var current = open.take() {
                if restriction == nil || restriction == j {
                    attribute(event, to: &current, journey: j, customer: idx)
                }
                if exitedAt == nil {
                    store(current, at: slot)
                    markTouched(slot)
                } else {
                    close(at: slot)
                    let closed = record(of: current, customer: idx, journey: j, exitedAt: exitedAt)
                    changes.closed.append((closed, current.isNew))
                }
            }
        }
        reschedule(idx)
    }

    private mutating func attribute(
        _ event: TouchpointEvent, to instance: inout OpenInstance, journey j: Int, customer: Int32
    ) {
        let stage = instance.stageIndex
        instance.stages[stage].events += 1
        if let s = event.sentiment {
            instance.stages[stage].sentimentCount += 1
            instance.stages[stage].sentimentSum += s
        }
        if let r = event.revenue { instance.stages[stage].revenue = instance.stages[stage].revenue + r }
        let slot = slotIndex(customer, j)
        let code = marks.code(journey: j, stageIndex: stage, touchpoint: event.touchpoint)
        let firstMeeting = marks.mark(slot: slot, code: code)
        changes.attribute(
            event, journey: j, journeyCount: catalog.journeys.count, persona: slotPersonas.latest(slot), code: code,
            firstMeeting: firstMeeting,
            firstAsPersona: slotPersonas.meet(slot: slot, code: code, firstInJourney: firstMeeting),
            keepsPairsPerPersona: slotPersonas.keepsPairsPerPersona(slot), slot: slot)
        if catalog.isPainPoint(inJourney: j, event: event.name, sentiment: event.sentiment) {
            instance.painPoints.append(
                PainPoint(
                    event: event.name, touchpoint: event.touchpoint, time: event.time, stageIndex: stage,
                    sentiment: event.sentiment))
            if instance.painPoints.count > PainPoint.retained {
                instance.painPoints.removeFirst(instance.painPoints.count - PainPoint.retained)
            }
        }
    }

    /// An instance left stage `stage`: forward, or by giving up (the decided instances of docs/alerts.md).
    /// With `alerts.by_persona`, also counted for the instance's persona.
    private mutating func decide(journey: Int, stage: Int, at time: EventTime, abandoned: Bool, persona: Int32) {
        let counts = abandoned ? DecisionCounts(abandoned: 1) : DecisionCounts(advanced: 1)
        let key = StageDecisionKey(journey: journey, stageIndex: stage, minute: time.minuteIndex)
        changes.decisions[key, default: DecisionCounts()] += counts
        guard detector.settings.byPersona else {
            if judgesAlerts { detector.record(journey: journey, stage: stage, at: time, abandoned: abandoned) }
            return
        }
        let name = personas.name(persona)
        if judgesAlerts {
            detector.record(journey: journey, stage: stage, at: time, abandoned: abandoned, persona: name)
        }
        var personaKey = key
        personaKey.persona = name
        changes.decisions[personaKey, default: DecisionCounts()] += counts
    }

    // MARK: Deadlines

    /// The customer's earliest deadline. Called for every event and every deadline, so it
    /// reads the instances in place rather than copying them.
    private func nextDeadline(_ idx: Int32) -> EventTime? {
        var best: EventTime? = nil
        let lastSeen = customers[Int(idx)].lastSeen
        for j in 0..<catalog.journeys.count {
            let index = slots[slotIndex(idx, j)].open
            guard index >= 0 else { continue }
            var d = instances[index].enteredAt + catalog.journeys[j].conversionWindow
            if !instances[index].isFlagged {
                let stage = instances[index].stageIndex
                if stage < catalog.journeys[j].stages.count - 1,
                    let after = catalog.journeys[j].stages[stage].abandonAfter
                {
                    d = min(d, lastSeen + after)
                }
            }
            if best == nil || d < best! { best = d }
        }
        return best
    }

    private func abandonDeadline(_ open: OpenInstance, journey: JourneyDefinition, lastSeen: EventTime) -> EventTime? {
        guard open.stageIndex < journey.stages.count - 1,
            let after = journey.stages[open.stageIndex].abandonAfter
        else { return nil }
        return lastSeen + after
    }

    private mutating func reschedule(_ idx: Int32) {
        guard let next = nextDeadline(idx) else { return }
        if let scheduled = customers[Int(idx)].scheduled, scheduled <= next { return }
        customers[Int(idx)].scheduled = next
        deadlines.push(ScheduledDeadline(time: next, customer: idx))
    }

    /// Fires every deadline before `limit`, or only the first `steps` of them due.
    private mutating func fireDeadlines(before limit: EventTime, limit steps: Int = .max) {
        var fired = 0
        while fired < steps, let top = deadlines.first, top.time < limit {
            fired += 1
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
        let state = customers[Int(idx)]
        while let d = nextDeadline(idx), d < limit {
            for j in 0..<catalog.journeys.count {
                let slot = slotIndex(idx, j)
                guard var open = openInstance(at: slot), !open.isFlagged else { continue }
                let journey = catalog.journeys[j]
                guard abandonDeadline(open, journey: journey, lastSeen: state.lastSeen) == d else { continue }
                let k = open.stageIndex
                let persona = slotPersonas.latest(slot)
                changes.move(journey: j, stage: k, persona: persona, from: open.status, to: .abandoned)
                open.status = .abandoned
                open.moments += 1
                let last = lastEventNames.pair(state.lastEventCode, customer: idx)
                let moment = CriticalMomentRecord(
                    journey: j, customerID: directory.id(idx), instance: open.instance, moment: open.moments,
                    stageIndex: k, reason: .inactive, lastEvent: last.event, lastTouchpoint: last.touchpoint,
                    lastSeen: state.lastSeen, timeInStage: d - (open.stages[k].reachedAt ?? open.enteredAt),
                    painPoints: open.painPoints, detectedAt: d, recoveredAt: nil, persona: personas.name(persona))
                open.flaggedMoment = moment
                changes.record(moment, isNew: true)
                // Dated when the customer fell silent, as an advance is dated when it happened:
                // a window then holds the decisions of the same customers whatever the volume
                // does (docs/alerts.md).
                decide(journey: j, stage: k, at: state.lastSeen, abandoned: true, persona: persona)
                store(open, at: slot)
                markTouched(slot)
            }
            for j in 0..<catalog.journeys.count {
                let slot = slotIndex(idx, j)
                guard var open = openInstance(at: slot) else { continue }
                let journey = catalog.journeys[j]
                guard open.enteredAt + journey.conversionWindow == d else { continue }
                if !open.isFlagged {
                    let k = open.stageIndex
                    let persona = slotPersonas.latest(slot)
                    changes.move(journey: j, stage: k, persona: persona, from: open.status, to: .expired)
                    open.status = .expired
                    open.moments += 1
                    decide(journey: j, stage: k, at: d, abandoned: true, persona: persona)
                    let last = lastEventNames.pair(state.lastEventCode, customer: idx)
                    changes.record(
                        CriticalMomentRecord(
                            journey: j, customerID: directory.id(idx), instance: open.instance, moment: open.moments,
                            stageIndex: k, reason: .windowExpired, lastEvent: last.event,
                            lastTouchpoint: last.touchpoint, lastSeen: state.lastSeen,
                            timeInStage: d - (open.stages[k].reachedAt ?? open.enteredAt),
                            painPoints: open.painPoints, detectedAt: d, recoveredAt: nil,
                            persona: personas.name(persona)), isNew: true)
                }
                let closed = record(of: open, customer: idx, journey: j, exitedAt: d)
                changes.closed.append((closed, open.isNew))
                close(at: slot)
            }
        }
    }
}

/// A customer's past in one journey, as the store holds it.
public struct StoredCustomerJourney: Sendable {
    public var journey: Int
    public var customerID: String
    /// Instances the customer had.
    public var instances: Int32
    /// The furthest stage any of them reached.
    public var furthestStage: Int
    /// Every (stage, touchpoint) pair the customer met in the journey.
    public var touchpointPairs: [TouchpointPair]
    /// The same per persona of the customer's instances.
    public var personas: [StoredPersonaHistory]

    public init(
        journey: Int, customerID: String, instances: Int32, furthestStage: Int, touchpointPairs: [TouchpointPair],
        personas: [StoredPersonaHistory] = []
    ) {
        self.journey = journey
        self.customerID = customerID
        self.instances = instances
        self.furthestStage = furthestStage
        self.touchpointPairs = touchpointPairs
        self.personas = personas
    }
}

/// A customer's past in one journey as one persona: what their instances of that persona did.
public struct StoredPersonaHistory: Sendable {
    public var persona: String
    /// The furthest stage an instance of the persona reached.
    public var furthestStage: Int
    /// The (stage, touchpoint) pairs met by instances of the persona.
    public var touchpointPairs: [TouchpointPair]
    /// Whether the customer's latest instance in the journey has this persona.
    public var isLatest: Bool

    public init(persona: String, furthestStage: Int, touchpointPairs: [TouchpointPair], isLatest: Bool) {
        self.persona = persona
        self.furthestStage = furthestStage
        self.touchpointPairs = touchpointPairs
        self.isLatest = isLatest
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
    /// What every customer did before in each journey they entered.
    public var customerJourneys: [StoredCustomerJourney] = []
    /// The persona of every customer an event gave one.
    public var customerPersonas: [CustomerPersona] = []
    /// Stored events not applied yet, with their arrival sequence.
    public var pendingEvents: [(event: TouchpointEvent, sequence: Int64)] = []
    /// The drop-off detector's counts, firing alerts and position.
    public var alerts = DropOffDetector.Snapshot()
    /// Conversions waiting for their customer's return.
    public var repeatPending: [RepeatPendingRecord] = []
    public init() {}
}
