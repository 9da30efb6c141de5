/// The journey as a cycle (docs/semantics.md, "The repeat loop"): whether a converted
/// instance's customer came back — their next instance of the journey entered within the
/// journey's `repeat_window` after the conversion — counted as running totals the moment it
/// is decided, so `cjm.repeat_loop` reads a few rows at any history size.
///
/// A conversion is *pending* from its exit until it is decided: returned when the next
/// instance enters at or before `exited_at + repeat_window`; did not return when one enters
/// later, or when the watermark passes `exited_at + repeat_window` first (every event up to
/// that instant has then been applied). At most one conversion per slot (customer × journey)
/// is pending: the latest instance's.
struct RepeatLoop {
    /// A conversion waiting for its customer's next instance.
    struct Pending {
        var instance: Int32
        /// The converted instance's persona (``PersonaTable`` number).
        var persona: Int32
        var exitedAt: EventTime
    }

    /// When a pending conversion stops waiting; stale once its slot's pending conversion is
    /// another instance or none.
    private struct Deadline {
        var time: EventTime
        var slot: Int
        var instance: Int32
    }

    /// Per slot, its pending conversion. A dictionary, not a field of every slot: only
    /// customers who converted recently have one (8 bytes per slot would grow every customer).
    private(set) var pending: [Int: Pending] = [:]
    private var deadlines = MinHeap<Deadline> { $0.time < $1.time }

    /// Per journey and persona number (persona × journey count + journey): what changed.
    private(set) var tallies: [Int: RepeatTally] = [:]
    /// Returns per journey, persona number and duration bucket of the time to return.
    private(set) var returnTimes: [PersonaTimeBucket: Int64] = [:]
    /// Returns per journey and opening event.
    private(set) var triggers: [RepeatTriggerKey: Int64] = [:]
    /// Slots whose pending conversion came since the changes were last taken (rows of
    /// `cjm.repeat_pending` to write).
    private(set) var addedSlots: Set<Int> = []
    /// Slots whose handed-out pending conversion was decided since (rows to delete, unless
    /// the slot is among ``addedSlots`` again).
    private(set) var decidedSlots: Set<Int> = []

    /// A conversion restored from the store: it waits as it did before the restart.
    mutating func restore(slot: Int, pending conversion: Pending, window: TimeSpan) {
        pending[slot] = conversion
        deadlines.push(Deadline(time: conversion.exitedAt + window, slot: slot, instance: conversion.instance))
    }

    /// An instance of `persona` converted at `time`.
    mutating func convert(
        slot: Int, journey: Int, journeyCount: Int, instance: Int32, persona: Int32, at time: EventTime,
        window: TimeSpan
    ) {
        if let earlier = pending[slot] {
            // Not reached while entries decide their slot's conversion first; should it ever
            // be, the earlier conversion is decided rather than lost from the totals.
            tallies[Int(earlier.persona) * journeyCount + journey, default: RepeatTally()].didNotReturn += 1
        }
        tallies[Int(persona) * journeyCount + journey, default: RepeatTally()].converted += 1
        pending[slot] = Pending(instance: instance, persona: persona, exitedAt: time)
        addedSlots.insert(slot)
        deadlines.push(Deadline(time: time + window, slot: slot, instance: instance))
        compactIfStale()
    }

    /// A new instance of the slot's customer entered at `time` by `event`: decides the slot's
    /// pending conversion, if any.
    mutating func enter(
        slot: Int, journey: Int, journeyCount: Int, event: TouchpointEvent, at time: EventTime, window: TimeSpan
    ) {
        guard let conversion = pending.removeValue(forKey: slot) else { return }
        forget(slot)
        let tally = Int(conversion.persona) * journeyCount + journey
        guard time <= conversion.exitedAt + window else {
            tallies[tally, default: RepeatTally()].didNotReturn += 1
            return
        }
        tallies[tally, default: RepeatTally()].returned += 1
        // A late event may enter before the conversion it follows; it returned at once.
        let elapsed = max(TimeSpan.zero, time - conversion.exitedAt)
        returnTimes[
            PersonaTimeBucket(
                journey: journey, stageIndex: 0, bucket: DurationBuckets.bucket(elapsed), persona: conversion.persona),
            default: 0] += 1
        triggers[RepeatTriggerKey(journey: journey, event: event.name, touchpoint: event.touchpoint), default: 0] += 1
    }

    /// Decides every pending conversion whose window ends before `limit` as not returned.
    mutating func expire(before limit: EventTime, journeyCount: Int) {
        while let top = deadlines.first, top.time < limit {
            deadlines.pop()
            guard let conversion = pending[top.slot], conversion.instance == top.instance else { continue }
            pending[top.slot] = nil
            forget(top.slot)
            tallies[Int(conversion.persona) * journeyCount + top.slot % journeyCount, default: RepeatTally()]
                .didNotReturn += 1
        }
    }

    /// A decided conversion leaves the store only if it was handed out to it.
    private mutating func forget(_ slot: Int) {
        if addedSlots.remove(slot) == nil { decidedSlots.insert(slot) }
    }

    /// Rows changed in `cjm.repeat_pending` since the changes were last taken (a rough count,
    /// for the engine's estimate of their memory).
    var changedRows: Int { addedSlots.count + decidedSlots.count }

    /// Forgets what changed (after the engine handed it out).
    mutating func clearChanges() {
        tallies = [:]
        returnTimes = [:]
        triggers = [:]
        addedSlots = []
        decidedSlots = []
    }

    /// Deadlines of conversions that returned stay in the heap until their time; when they
    /// outnumber the live ones, the heap is rebuilt from the pending conversions.
    private mutating func compactIfStale() {
        guard deadlines.count > 2 * pending.count + 4096 else { return }
        var fresh = MinHeap<Deadline> { $0.time < $1.time }
        var live: [Int: Int32] = [:]
        for (slot, conversion) in pending { live[slot] = conversion.instance }
        while let top = deadlines.pop() {
            if live[top.slot] == top.instance {
                fresh.push(top)
                live[top.slot] = nil
            }
        }
        deadlines = fresh
    }
}

/// Changes to a journey's repeat-loop counters for one persona (added to `cjm.repeat_stats`).
public struct RepeatTally: Sendable, Equatable {
    /// Instances that converted.
    public var converted: Int64 = 0
    /// Converted instances whose customer's next instance entered within the repeat window.
    public var returned: Int64 = 0
    /// Converted instances decided as not returned.
    public var didNotReturn: Int64 = 0

    public init(converted: Int64 = 0, returned: Int64 = 0, didNotReturn: Int64 = 0) {
        self.converted = converted
        self.returned = returned
        self.didNotReturn = didNotReturn
    }

    public static func += (lhs: inout RepeatTally, rhs: RepeatTally) {
        lhs.converted += rhs.converted
        lhs.returned += rhs.returned
        lhs.didNotReturn += rhs.didNotReturn
    }
}

/// A journey and a persona (``PersonaSettings/all`` for every instance): a row of
/// `cjm.repeat_stats`.
public struct RepeatLoopKey: Hashable, Sendable {
    public var journey: Int
    public var persona: String

    public init(journey: Int, persona: String = PersonaSettings.all) {
        self.journey = journey
        self.persona = persona
    }
}

/// A duration bucket of the time from a conversion to the customer's return, per journey and
/// persona: a row of `cjm.return_time`.
public struct ReturnTimeKey: Hashable, Sendable {
    public var journey: Int
    public var bucket: Int
    public var persona: String

    public init(journey: Int, bucket: Int, persona: String = PersonaSettings.all) {
        self.journey = journey
        self.bucket = bucket
        self.persona = persona
    }
}

/// The event that opened a returning instance: a row of `cjm.repeat_trigger_stats`.
public struct RepeatTriggerKey: Hashable, Sendable {
    public var journey: Int
    public var event: String
    public var touchpoint: String

    public init(journey: Int, event: String, touchpoint: String) {
        self.journey = journey
        self.event = event
        self.touchpoint = touchpoint
    }
}

/// A conversion waiting for its customer's return: the row of `cjm.repeat_pending`, kept so
/// that a restarted engine decides it exactly once.
public struct RepeatPendingRecord: Sendable, Equatable {
    public var journey: Int
    public var customerID: String
    public var instance: Int32
    public var exitedAt: EventTime
    /// The converted instance's persona.
    public var persona: String

    public init(journey: Int, customerID: String, instance: Int32, exitedAt: EventTime, persona: String) {
        self.journey = journey
        self.customerID = customerID
        self.instance = instance
        self.exitedAt = exitedAt
        self.persona = persona
    }
}
