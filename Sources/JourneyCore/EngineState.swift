// The engine's in-memory state, laid out for size: a daemon holds one of each per customer
// or open instance, millions of them (issue 6, figure 3: ≤ 300 bytes per open instance).
// What the store needs (`InstanceRecord`) is built from these only for instances a batch
// touched.

/// A deadline in the schedule: the earliest one of a customer when it was pushed.
struct ScheduledDeadline {
    var time: EventTime
    var customer: Int32
}

/// What the engine keeps of every customer it has seen.
///
/// The last event is kept per customer, not per instance: every open instance of a customer
/// is touched by each of the customer's events, so theirs are always the customer's.
struct CustomerState {
    var lastSeen: EventTime = .distantPast
    /// The last event's name and touchpoint, as their number in ``LastEventNames``.
    var lastEventCode = LastEventNames.noneCode
    /// The customer's persona (``PersonaTable`` number; 0 is the default persona): that of
    /// the latest event by time that carried one. No time is kept with it: an event applied
    /// in time order is the customer's latest, and a late one (behind an applied event of the
    /// customer) changes nothing; 8 bytes less per customer (figure 3 of `bench/run`).
    var persona: Int32 = 0
    /// Microseconds of the earliest deadline entry of this customer in the schedule,
    /// `Int64.min` when none (an optional would add 8 bytes of padding).
    private var scheduledMicroseconds = Int64.min

    /// The earliest deadline entry of this customer in the schedule, if any.
    var scheduled: EventTime? {
        get { scheduledMicroseconds == .min ? nil : EventTime(microseconds: scheduledMicroseconds) }
        set { scheduledMicroseconds = newValue?.microseconds ?? .min }
    }
}

/// What the engine remembers of a customer's past instances in one journey.
struct CustomerJourneyHistory {
    /// Instances opened so far (the next one gets this + 1).
    var instances: Int32 = 0
    /// The furthest stage any instance reached (−1: none yet), for distinct customers.
    var furthestStage: Int32 = -1
}

/// One customer in one journey: the history, and the open instance if there is one.
struct JourneySlot {
    var history = CustomerJourneyHistory()
    /// Index of the open instance in the engine's ``InstancePool``; −1 when none.
    var open: Int32 = -1
}

/// The state of an open instance that is not the customer's (see ``CustomerState``).
///
/// 64 bytes: what every instance has inline, and one reference to what most never have
/// (stages past the first, pain points, the moment of a flagged abandonment), so that an
/// instance still in its first stage — most of them — costs no allocation, and the three
/// cost 8 bytes rather than 24 (figure 3 of `bench/run`).
struct OpenInstance {
    var instance: Int32
    /// Critical moments written for this instance so far.
    var moments: Int32 = 0
    private var stageIndex32: Int32 = 0
    var status: InstanceRecord.Status = .active
    /// Opened since the changes were last taken: its row is new to the store (and fits in
    /// the padding after `status`, so it costs no memory).
    var isNew = false
    var enteredAt: EventTime
    /// The first stage's tally.
    private var firstStage: StageTally
    /// Copy on write: shared by copies of the instance until one of them changes it.
    private var extras: InstanceExtras?

    /// A new instance entering stage 0 at `time`.
    init(instance: Int32, enteredAt time: EventTime) {
        self.instance = instance
        self.enteredAt = time
        self.firstStage = StageTally(reachedAt: time)
    }

    /// An instance restored from its stored record (its persona is its slot's: ``SlotPersonas``).
    init(restoring record: InstanceRecord, flaggedMoment: CriticalMomentRecord?) {
        instance = record.instance
        moments = record.moments
        stageIndex32 = Int32(record.stageIndex)
        status = record.status
        enteredAt = record.enteredAt
        let tallies = StageTallies(restoring: record.stages, through: record.stageIndex)
        firstStage = tallies.first
        if !tallies.rest.isEmpty || !record.painPoints.isEmpty || flaggedMoment != nil {
            extras = InstanceExtras(laterStages: tallies.rest, painPoints: record.painPoints, flagged: flaggedMoment)
        }
    }

    /// A free slot of the pool.
    static let vacant = OpenInstance(instance: 0, enteredAt: .distantPast)

    /// Furthest stage reached.
    var stageIndex: Int {
        get { Int(stageIndex32) }
        set { stageIndex32 = Int32(newValue) }
    }

    /// Tallies of the stages reached so far (later ones are all zero).
    var stages: StageTallies {
        get { StageTallies(first: firstStage, rest: extras?.laterStages ?? []) }
        _modify {
            var tallies = StageTallies(first: firstStage, rest: [])
            if extras != nil { swap(&tallies.rest, &uniqueExtras().laterStages) }
            defer {
                firstStage = tallies.first
                if extras != nil || !tallies.rest.isEmpty { swap(&tallies.rest, &uniqueExtras().laterStages) }
            }
            yield &tallies
        }
    }

    /// The latest pain points (at most ``PainPoint/retained``).
    var painPoints: [PainPoint] {
        get { extras?.painPoints ?? [] }
        _modify { yield &uniqueExtras().painPoints }
    }

    /// Whether the instance holds anything beyond its first stage's tally (tests).
    var hasExtras: Bool { extras != nil }

    /// Whether the instance is flagged abandoned (cheaper than reading the moment).
    var isFlagged: Bool { extras?.flagged != nil }

    /// The unrecovered `inactive` moment while the instance is flagged abandoned.
    var flaggedMoment: CriticalMomentRecord? {
        get { extras?.flagged }
        set {
            guard newValue != nil || extras != nil else { return }
            uniqueExtras().flagged = newValue
        }
    }

    /// Moves on to `stage` (the next one), reached at `time`.
    mutating func advance(to stage: Int, at time: EventTime) {
        while stages.count <= stage { stages.append(StageTally()) }
        stages[stage].reachedAt = time
        stageIndex = stage
    }

    /// The extras, created when missing and copied first when shared, ready to change.
    private mutating func uniqueExtras() -> InstanceExtras {
        // Checked before binding it: a bound copy would be a second reference.
        if extras != nil, isKnownUniquelyReferenced(&extras!) { return extras! }
        let copy = extras.map(InstanceExtras.init(copying:)) ?? InstanceExtras()
        extras = copy
        return copy
    }
}

/// What an open instance holds beyond its first stage: boxed, since most instances have none
/// of it. Only ``OpenInstance`` changes it, and only when it holds the sole reference (copy
/// on write, as the standard library's collections do), hence `@unchecked Sendable`.
final class InstanceExtras: @unchecked Sendable {
    var laterStages: [StageTally]
    var painPoints: [PainPoint]
    var flagged: CriticalMomentRecord?

    init(laterStages: [StageTally] = [], painPoints: [PainPoint] = [], flagged: CriticalMomentRecord? = nil) {
        self.laterStages = laterStages
        self.painPoints = painPoints
        self.flagged = flagged
    }

    convenience init(copying other: InstanceExtras) {
        self.init(laterStages: other.laterStages, painPoints: other.painPoints, flagged: other.flagged)
    }
}

/// The stage tallies of an instance, up to the furthest stage it reached.
struct StageTallies {
    fileprivate(set) var first: StageTally
    fileprivate var rest: [StageTally]

    fileprivate init(first: StageTally, rest: [StageTally]) {
        self.first = first
        self.rest = rest
    }

    /// The tallies of `stored` through `stage`, and beyond while not all zero.
    fileprivate init(restoring stored: [StageTally], through stage: Int) {
        var end = min(stage + 1, stored.count)
        while end < stored.count, stored[end...].contains(where: { $0 != StageTally() }) { end += 1 }
        first = stored.first ?? StageTally()
        rest = end > 1 ? Array(stored[1..<end]) : []
    }

    var count: Int { 1 + rest.count }

    subscript(stage: Int) -> StageTally {
        get { stage == 0 ? first : rest[stage - 1] }
        set {
            if stage == 0 { first = newValue } else { rest[stage - 1] = newValue }
        }
    }

    mutating func append(_ tally: StageTally) { rest.append(tally) }

    /// All `count` tallies of the journey, zero past the ones held.
    func padded(to count: Int) -> [StageTally] {
        var all = [StageTally](repeating: StageTally(), count: max(count, self.count))
        for stage in 0..<self.count { all[stage] = self[stage] }
        return all
    }
}

/// Open instances, in one array with a free list: one allocation for all of them instead
/// of one per customer.
struct InstancePool {
    private var storage: [OpenInstance] = []
    private var free: [Int32] = []

    // Borrowing accessors: reading one field of an instance copies nothing (a getter
    // would copy the instance and retain what it references, per deadline check).
    subscript(index: Int32) -> OpenInstance {
        _read { yield storage[Int(index)] }
        _modify { yield &storage[Int(index)] }
    }

    /// Stores `instance` in a free place; returns that place.
    mutating func add(_ instance: OpenInstance) -> Int32 {
        if let index = free.popLast() {
            storage[Int(index)] = instance
            return index
        }
        storage.append(instance)
        return Int32(storage.count - 1)
    }

    /// Moves the instance at `index` out, leaving a vacant one in its place (still taken),
    /// so that the caller holds the only copy and changes it without copying what it shares.
    mutating func take(_ index: Int32) -> OpenInstance {
        var taken = OpenInstance.vacant
        swap(&taken, &storage[Int(index)])
        return taken
    }

    /// Frees the place `index` (releasing what its instance held).
    mutating func remove(_ index: Int32) {
        storage[Int(index)] = .vacant
        free.append(index)
    }
}

struct MomentKey: Hashable {
    var journey: Int
    var customer: String
    var instance: Int32
    var moment: Int32
}

/// One journey instance of one customer.
struct InstanceKey: Hashable {
    var journey: Int
    var customer: String
    var instance: Int32
}

/// What changed since the engine last handed out its changes.
struct ChangeCollector {
    /// Slots (customer × journey count + journey) whose open instance changed, each once
    /// (the engine's touched bits say which are listed).
    var touchedSlots: [Int] = []
    /// Instances that closed, and whether they opened since the changes were last taken.
    var closed: [(record: InstanceRecord, isNew: Bool)] = []
    var moments: [MomentKey: CriticalMomentRecord] = [:]
    /// Moments detected since the changes were last taken (never handed out before).
    var newMoments: Set<MomentKey> = []
    /// Per journey and persona (persona × journey count + journey), the activity of each
    /// touchpoint pair by its number (grown on demand), its `customers` those of the persona;
    /// `touchedPairs` lists the pairs with any.
    var touchpointTallies: [[TouchpointTally]] = []
    var touchedPairs: [(journey: Int, persona: Int32, code: Int32)] = []
    /// Per journey and pair number: customers that met the pair for the first time, whatever
    /// their persona (the all-persona rows).
    var touchpointCustomers: [[Int64]] = []
    /// Per slot, the pairs its customer met for the first time, in order (numbers).
    var firstTouches: [Int: PairCodeList] = [:]
    /// Per slot, the pairs its customer met for the first time as the open instance's persona.
    var personaFirstTouches: [Int: PairCodeList] = [:]
    var firstTouchCount = 0
    /// Customers whose persona an event set, with the event's time, in order (a customer may
    /// repeat; the last counts).
    var personaChanges: [(customer: Int32, setAt: EventTime)] = []
    var lateEvents = 0
    var appliedEvents = 0
    var decisions: [StageDecisionKey: DecisionCounts] = [:]
    /// Per journey, stage and persona number; persona −1 holds only the distinct customers of
    /// the all-persona row (the other counters of that row are the personas' sums).
    var funnel: [PersonaStage: FunnelTally] = [:]
    var timeToNext: [PersonaTimeBucket: Int64] = [:]

    /// An instance of `persona` reached `stage`: one more reached; one more customer of the
    /// persona when `newForPersona` (no earlier instance of the customer as that persona got
    /// that far), and one more customer of all when no earlier instance of theirs did.
    mutating func reach(
        journey: Int, stage: Int, persona: Int32, newForPersona: Bool, history: inout CustomerJourneyHistory
    ) {
        let key = PersonaStage(journey: journey, stageIndex: stage, persona: persona)
        funnel[key, default: FunnelTally()].reached += 1
        if newForPersona { funnel[key, default: FunnelTally()].customers += 1 }
        if Int32(stage) > history.furthestStage {
            history.furthestStage = Int32(stage)
            funnel[PersonaStage(journey: journey, stageIndex: stage, persona: -1), default: FunnelTally()].customers +=
                1
        }
    }

    /// An instance of `persona` at `stage` changed status (nil: it arrived at or left the stage).
    mutating func move(
        journey: Int, stage: Int, persona: Int32, from old: InstanceRecord.Status?, to new: InstanceRecord.Status?
    ) {
        guard old != new else { return }
        let key = PersonaStage(journey: journey, stageIndex: stage, persona: persona)
        if let old { funnel[key, default: FunnelTally()].count(old, -1) }
        if let new { funnel[key, default: FunnelTally()].count(new, 1) }
    }

    /// A moment was detected (`isNew`) or recovered.
    mutating func record(_ moment: CriticalMomentRecord, isNew: Bool = false) {
        let key = MomentKey(
            journey: moment.journey, customer: moment.customerID, instance: moment.instance,
            moment: moment.moment)
        moments[key] = moment
        if isNew { newMoments.insert(key) }
    }

    /// Counts `event` at pair `code` of `journey` for an instance of `persona`; `firstMeeting`:
    /// the customer of `slot` never met the pair before; `firstAsPersona`: not as this persona.
    /// `keepsPairsPerPersona`: the slot's customer had instances of several personas, so their
    /// first meetings as the persona are recorded apart.
    mutating func attribute(
        _ event: TouchpointEvent, journey: Int, journeyCount: Int, persona: Int32, code: Int32, firstMeeting: Bool,
        firstAsPersona: Bool, keepsPairsPerPersona: Bool, slot: Int
    ) {
        let list = Int(persona) * journeyCount + journey
        while touchpointTallies.count <= list { touchpointTallies.append([]) }
        let index = Int(code)
        if touchpointTallies[list].count <= index {
            touchpointTallies[list].append(
                contentsOf: repeatElement(TouchpointTally(), count: index + 1 - touchpointTallies[list].count))
        }
        if touchpointTallies[list][index].events == 0 { touchedPairs.append((journey, persona, code)) }
        touchpointTallies[list][index].add(event)
        if firstAsPersona {
            touchpointTallies[list][index].customers += 1
            if keepsPairsPerPersona {
                personaFirstTouches[slot, default: PairCodeList()].append(code)
                firstTouchCount += 1
            }
        }
        if firstMeeting {
            while touchpointCustomers.count <= journey { touchpointCustomers.append([]) }
            if touchpointCustomers[journey].count <= index {
                touchpointCustomers[journey].append(
                    contentsOf: repeatElement(0, count: index + 1 - touchpointCustomers[journey].count))
            }
            touchpointCustomers[journey][index] += 1
            firstTouches[slot, default: PairCodeList()].append(code)
            firstTouchCount += 1
        }
    }

    /// A rough upper estimate of the memory these changes take once handed out: every
    /// touched instance and moment as a record (a few hundred bytes with its strings and
    /// stage arrays), every first meeting of a pair as an element of its record. What a caller
    /// that takes changes rarely (a replay) keeps under a budget.
    var estimatedBytes: Int {
        (touchedSlots.count + closed.count + moments.count) * 320 + firstTouchCount * 40
    }
}

/// The pair numbers a slot's customer met first since the changes were last taken. Most
/// slots meet one pair (a new instance's first touchpoint): that one is held inline, with no
/// allocation, since a burst of new customers makes a million of these before a derived
/// write takes them (figure 3 of `bench/run`).
struct PairCodeList {
    private var single: Int32 = -1
    private var more: [Int32] = []

    mutating func append(_ code: Int32) {
        if single < 0, more.isEmpty {
            single = code
            return
        }
        if more.isEmpty { more = [single] }
        more.append(code)
    }

    /// The numbers, in the order met.
    var codes: [Int32] { more.isEmpty ? (single < 0 ? [] : [single]) : more }
}

/// A stage of a journey for one persona number (−1: every persona), as the engine counts it.
struct PersonaStage: Hashable {
    var journey: Int
    var stageIndex: Int
    var persona: Int32
}

/// A duration bucket of a stage of a journey for one persona number, as the engine counts it.
struct PersonaTimeBucket: Hashable {
    var journey: Int
    var stageIndex: Int
    var bucket: Int
    var persona: Int32
}

extension TouchpointTally {
    /// Counts `event`.
    mutating func add(_ event: TouchpointEvent) {
        events += 1
        if let s = event.sentiment {
            sentimentCount += 1
            sentimentSum += s
        }
        if let r = event.revenue { revenue = revenue + r }
    }
}
