/// What each customer did in each journey *as each persona*: the furthest stage their
/// instances of that persona reached and the touchpoint pairs they met, so that
/// `cjm.funnel_by_persona` and `cjm.touchpoints` count distinct customers per persona with
/// running totals, as the all-customer rows do.
///
/// Every slot (customer × journey) keeps the persona of its latest instance — the open one,
/// if any: a slot has one open instance at most, and an instance's persona is fixed at entry.
/// While all of a slot's instances had that one persona, which is most customers' case, what
/// they did as it is what they did at all: the journey's own history answers, and the slot
/// costs 4 bytes. Only once a later instance has another persona (the slot *switched*) are
/// histories kept per persona, in dictionaries: the latest persona's by slot, the others set
/// aside: memory per open instance is figure 3 of `bench/run`.
struct SlotPersonas {
    /// Per slot: the persona of its latest instance (−1: none yet), with ``switchedBit`` set
    /// once the slot had instances of more than one persona.
    private var persona: [Int32] = []
    private static let switchedBit: Int32 = 1 << 30
    /// Of a switched slot, the latest persona's history.
    private var current: [Int: History] = [:]
    /// Pairs numbered from 64 on met by switched slots, per slot and persona.
    private var overflow: Set<SlotPersonaCode> = []
    /// The histories of other personas of a switched slot, set aside.
    private var setAside: [SlotPersona: History] = [:]

    private struct SlotPersona: Hashable {
        var slot: Int
        var persona: Int32
    }

    private struct SlotPersonaCode: Hashable {
        var slot: Int
        var persona: Int32
        var code: Int32
    }

    /// The furthest stage instances of a persona reached (−1: none), and the touchpoint pairs
    /// numbered below 64 they met, one bit each (numbered as in ``TouchpointMarks``).
    struct History {
        var furthest: Int32 = -1
        var mask: UInt64 = 0
    }

    /// Makes room for `count` more slots (a new customer's journeys).
    mutating func addSlots(_ count: Int) {
        persona.append(contentsOf: repeatElement(-1, count: count))
    }

    /// The persona of the slot's latest instance (0, the default persona, when none).
    func latest(_ slot: Int) -> Int32 {
        let value = persona[slot]
        return value < 0 ? 0 : value & ~Self.switchedBit
    }

    /// Whether the slot had instances of more than one persona.
    private func isSwitched(_ slot: Int) -> Bool { persona[slot] >= 0 && persona[slot] & Self.switchedBit != 0 }

    /// An instance of `code` opens in `slot`. When its persona differs from the slot's until
    /// now, the slot switches: `journeyHistory` and `overflowPairs` say what its instances
    /// did so far (all of one persona, if it had not switched before).
    mutating func enter(
        slot: Int, persona code: Int32, journeyHistory: () -> (history: History, overflowPairs: [Int32])
    ) {
        let value = persona[slot]
        if value < 0 {
            persona[slot] = code
            return
        }
        let old = value & ~Self.switchedBit
        guard old != code else { return }
        let oldHistory: History
        if value & Self.switchedBit == 0 {
            let journey = journeyHistory()
            oldHistory = journey.history
            for pair in journey.overflowPairs { overflow.insert(SlotPersonaCode(slot: slot, persona: old, code: pair)) }
        } else {
            oldHistory = current[slot] ?? History()
        }
        setAside[SlotPersona(slot: slot, persona: old)] = oldHistory
        current[slot] = setAside.removeValue(forKey: SlotPersona(slot: slot, persona: code)) ?? History()
        persona[slot] = code | Self.switchedBit
    }

    /// The slot's latest instance reached `stage`; `newForJourney`: no instance of the slot had
    /// reached it. Returns whether no instance of the latest persona had (one more distinct
    /// customer of the persona at that stage).
    mutating func reach(slot: Int, stage: Int, newForJourney: Bool) -> Bool {
        guard isSwitched(slot) else { return newForJourney }
        guard Int32(stage) > current[slot, default: History()].furthest else { return false }
        current[slot, default: History()].furthest = Int32(stage)
        return true
    }

    /// The slot's latest instance met pair `code`; `firstInJourney`: the customer never met
    /// it in the journey. Returns whether they had not met it as the latest persona.
    mutating func meet(slot: Int, code: Int32, firstInJourney: Bool) -> Bool {
        guard isSwitched(slot) else { return firstInJourney }
        if code < 64 {
            let bit = UInt64(1) << UInt64(code)
            guard current[slot, default: History()].mask & bit == 0 else { return false }
            current[slot, default: History()].mask |= bit
            return true
        }
        return overflow.insert(SlotPersonaCode(slot: slot, persona: latest(slot), code: code)).inserted
    }

    /// Whether the slot's pairs are kept per persona (its instances' first meetings as their
    /// persona differ from their first meetings in the journey).
    func keepsPairsPerPersona(_ slot: Int) -> Bool { isSwitched(slot) }

    /// Restores a stored slot: `histories` holds, per persona of its instances, the furthest
    /// stage and the pair numbers met, and whether the latest instance has it.
    mutating func restore(slot: Int, histories: [(persona: Int32, furthest: Int, pairs: [Int32], isLatest: Bool)]) {
        guard let latest = histories.first(where: \.isLatest) ?? histories.first else { return }
        guard histories.count > 1 else {
            persona[slot] = latest.persona
            return
        }
        persona[slot] = latest.persona | Self.switchedBit
        for history in histories {
            var kept = History(furthest: Int32(history.furthest), mask: 0)
            for pair in history.pairs {
                if pair < 64 {
                    kept.mask |= UInt64(1) << UInt64(pair)
                } else {
                    overflow.insert(SlotPersonaCode(slot: slot, persona: history.persona, code: pair))
                }
            }
            if history.persona == latest.persona {
                current[slot] = kept
            } else {
                setAside[SlotPersona(slot: slot, persona: history.persona)] = kept
            }
        }
    }
}
