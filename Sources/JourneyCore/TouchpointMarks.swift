/// Which (stage, touchpoint) pairs each customer has met in each journey, so that the
/// distinct customers of a touchpoint are a running count: one more the first time a
/// customer meets a pair, none after.
///
/// Pairs are numbered per journey in the order they first appear (the numbers live in memory
/// only; the store keeps the pairs themselves on the instance rows). A customer's pairs with
/// numbers below 64 are one bit each in a word per customer and journey — 8 bytes, however
/// many they meet; real journeys have a few stages and a handful of touchpoints. Numbers
/// from 64 on go to a set, so any number of pairs still counts exactly.
struct TouchpointMarks {
    private var codes: [PairKey: Int32] = [:]
    /// Per journey, the pairs by number.
    private var pairs: [[TouchpointPair]]
    /// Per slot (customer × journey count + journey): pairs numbered below 64, one bit each.
    private var masks: [UInt64] = []
    /// Pairs numbered from 64 on, per slot.
    private var overflow: [Int: [Int32]] = [:]

    private struct PairKey: Hashable {
        var journey: Int
        var stageIndex: Int
        var touchpoint: String
    }

    init(journeys: Int) {
        pairs = Array(repeating: [], count: journeys)
    }

    /// Makes room for `count` more slots (a new customer's journeys).
    mutating func addSlots(_ count: Int) {
        masks.append(contentsOf: repeatElement(0, count: count))
    }

    /// The number of a journey's pair, numbering it if it is new.
    mutating func code(journey: Int, stageIndex: Int, touchpoint: String) -> Int32 {
        let key = PairKey(journey: journey, stageIndex: stageIndex, touchpoint: touchpoint)
        if let code = codes[key] { return code }
        let code = Int32(pairs[journey].count)
        pairs[journey].append(TouchpointPair(stageIndex: stageIndex, touchpoint: touchpoint))
        codes[key] = code
        return code
    }

    /// The pair numbered `code` in `journey`.
    func pair(journey: Int, code: Int32) -> TouchpointPair {
        pairs[journey][Int(code)]
    }

    /// Records that the customer and journey of `slot` met pair `code`; returns whether
    /// they had not before.
    mutating func mark(slot: Int, code: Int32) -> Bool {
        if code < 64 {
            let bit = UInt64(1) << UInt64(code)
            guard masks[slot] & bit == 0 else { return false }
            masks[slot] |= bit
            return true
        }
        if overflow[slot, default: []].contains(code) { return false }
        overflow[slot, default: []].append(code)
        return true
    }

    /// The pairs the customer and journey of `slot` met: those numbered below 64 as bits, and
    /// the others.
    func met(slot: Int) -> (mask: UInt64, overflow: [Int32]) {
        (masks[slot], overflow[slot] ?? [])
    }
}
