/// What each customer did in each journey *as each persona*: the furthest stage their
/// instances of that persona reached and the touchpoint pairs they met, so that
/// `cjm.funnel_by_persona` and `cjm.touchpoints` count distinct customers per persona with
/// running totals, as the all-customer rows do.
///
/// A slot (customer × journey) keeps the history of one persona inline — the persona of its
/// latest instance, which is the only one that can still change it (a slot has one open
/// instance at most, and an instance's persona is fixed at entry). When a later instance has
/// another persona, the inline history is set aside in a dictionary and the other one taken
/// from it (or started). Most customers never change persona, so most slots cost 16 bytes
/// and no lookups.
struct SlotPersonas {
    /// Per slot: the persona of its latest instance (−1: none yet).
    private var persona: [Int32] = []
    /// Per slot: the furthest stage an instance of that persona reached (−1: none).
    private var furthest: [Int32] = []
    /// Per slot: the touchpoint pairs numbered below 64 met as that persona, one bit each
    /// (numbered as in ``TouchpointMarks``).
    private var masks: [UInt64] = []
    /// Pairs numbered from 64 on, per slot and persona.
    private var overflow: Set<SlotPersonaCode> = []
    /// The histories of other personas of a slot, set aside.
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

    private struct History {
        var furthest: Int32
        var mask: UInt64
    }

    /// Makes room for `count` more slots (a new customer's journeys).
    mutating func addSlots(_ count: Int) {
        persona.append(contentsOf: repeatElement(-1, count: count))
        furthest.append(contentsOf: repeatElement(-1, count: count))
        masks.append(contentsOf: repeatElement(0, count: count))
    }

    /// An instance of `code` opens in `slot`: its persona's history becomes the inline one.
    mutating func enter(slot: Int, persona code: Int32) {
        let current = persona[slot]
        guard current != code else { return }
        if current >= 0 {
            setAside[SlotPersona(slot: slot, persona: current)] = History(furthest: furthest[slot], mask: masks[slot])
        }
        let history =
            setAside.removeValue(forKey: SlotPersona(slot: slot, persona: code)) ?? History(furthest: -1, mask: 0)
        persona[slot] = code
        furthest[slot] = history.furthest
        masks[slot] = history.mask
    }

    /// The slot's latest instance reached `stage`; returns whether no instance of its persona
    /// had (one more distinct customer of the persona at that stage).
    mutating func reach(slot: Int, stage: Int) -> Bool {
        guard Int32(stage) > furthest[slot] else { return false }
        furthest[slot] = Int32(stage)
        return true
    }

    /// The slot's latest instance met pair `code`; returns whether the customer had not met it
    /// as this persona before.
    mutating func meet(slot: Int, code: Int32) -> Bool {
        if code < 64 {
            let bit = UInt64(1) << UInt64(code)
            guard masks[slot] & bit == 0 else { return false }
            masks[slot] |= bit
            return true
        }
        return overflow.insert(SlotPersonaCode(slot: slot, persona: persona[slot], code: code)).inserted
    }

    /// Restores what a stored customer did as `code` in a slot: the furthest stage and the pairs
    /// met. `isLatest`: the persona of the slot's latest instance (restored inline; the others
    /// set aside). Each (slot, persona) is restored once.
    mutating func restore(slot: Int, persona code: Int32, furthest stage: Int, pairCodes: [Int32], isLatest: Bool) {
        if isLatest {
            enter(slot: slot, persona: code)
            _ = reach(slot: slot, stage: stage)
            for pair in pairCodes { _ = meet(slot: slot, code: pair) }
            return
        }
        let key = SlotPersona(slot: slot, persona: code)
        var history = setAside[key] ?? History(furthest: -1, mask: 0)
        history.furthest = max(history.furthest, Int32(stage))
        for pair in pairCodes {
            if pair < 64 {
                history.mask |= UInt64(1) << UInt64(pair)
            } else {
                overflow.insert(SlotPersonaCode(slot: slot, persona: code, code: pair))
            }
        }
        setAside[key] = history
    }
}
