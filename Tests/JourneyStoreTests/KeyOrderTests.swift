import JourneyCore
import JourneyReference
import Testing

@testable import JourneyStore

/// The order rows are COPYed in: the primary key's, text by UTF-8 bytes (the `C`
/// collation). The sort keys compare an id's first eight bytes as one integer, so ids are
/// drawn to share prefixes of every length around eight bytes, differ by trailing zero
/// bytes, and leave ASCII; journeys are named against their configuration order.
@Suite("Key order")
struct KeyOrderTests {
    static let catalog = JourneyCatalog(
        journeys: ["zeta", "alpha", "ålpha", "Beta"].map { name in
            JourneyDefinition(
                name: name, conversionWindow: .seconds(60),
                stages: [
                    StageDefinition(name: "a", events: [EventPattern("a")]),
                    StageDefinition(name: "b", events: [EventPattern("b")]),
                ])
        })

    /// Random ids after `common`, with a stem of 0 to 12 bytes and tails that may be empty,
    /// zero bytes or non-ASCII, each (journey, id) with one to three instances (and moments).
    static func ids(seed: UInt64, common: String) -> [(journey: Int, id: String, instance: Int32, moment: Int32)] {
        var random = SplitMix64(seed: seed)
        let tails: [String] = ["", "\u{0}", "\u{0}\u{0}", "a", "b", "é", "字", "🙂", "Z", "-1", "00"]
        var keys: [(Int, String, Int32, Int32)] = []
        var seen = Set<String>()
        for _ in 0..<3_000 {
            let stem = String(repeating: "c", count: Int(random.next() % 13))
            let id =
                common + stem + tails[Int(random.next() % UInt64(tails.count))]
                + tails[Int(random.next() % UInt64(tails.count))]
            let journey = Int(random.next() % 4)
            guard seen.insert("\(journey)/\(id)").inserted else { continue }
            for instance in 1...Int32(1 + random.next() % 3) {
                for moment in 1...Int32(1 + random.next() % 2) { keys.append((journey, id, instance, moment)) }
            }
        }
        var shuffler = SplitMix64(seed: seed &+ 1)
        for i in keys.indices.reversed() { keys.swapAt(i, Int(shuffler.next() % UInt64(i + 1))) }
        return keys
    }

    /// The order by bytes, as the database has it, computed plainly.
    static func byteOrder(
        _ a: (journey: Int, id: String, instance: Int32, moment: Int32),
        _ b: (journey: Int, id: String, instance: Int32, moment: Int32)
    ) -> Bool {
        let x = Array(catalog.journeys[a.journey].name.utf8)
        let y = Array(catalog.journeys[b.journey].name.utf8)
        if x != y { return x.lexicographicallyPrecedes(y) }
        let p = Array(a.id.utf8)
        let q = Array(b.id.utf8)
        if p != q { return p.lexicographicallyPrecedes(q) }
        return a.instance != b.instance ? a.instance < b.instance : a.moment < b.moment
    }

    /// With and without a prefix every id shares (the sort keys take the bytes after it).
    @Test(arguments: [(1, ""), (2, ""), (3, "tenant-0042/"), (4, "é"), (5, "c")] as [(UInt64, String)])
    func momentsAndInstancesFollowTheKeyInByteOrder(seed: UInt64, common: String) {
        let keys = Self.ids(seed: seed, common: common)
        let moments = keys.map { key in
            CriticalMomentRecord(
                journey: key.journey, customerID: key.id, instance: key.instance, moment: key.moment, stageIndex: 0,
                reason: .inactive, lastEvent: "a", lastTouchpoint: "web", lastSeen: .distantPast, timeInStage: .zero,
                painPoints: [], detectedAt: .distantPast, recoveredAt: nil)
        }
        let expected = keys.sorted(by: Self.byteOrder)
        let momentOrder = KeyOrder.moments(moments[...], catalog: Self.catalog).map { keys[$0] }
        #expect(momentOrder.elementsEqual(expected) { $0 == $1 })

        let instanceKeys = keys.filter { $0.moment == 1 }
        let instances = instanceKeys.map { key in
            InstanceRecord(
                journey: key.journey, customerID: key.id, instance: key.instance, enteredAt: .distantPast,
                stageIndex: 0,
                status: .active, lastSeen: .distantPast, exitedAt: nil, stages: [StageTally(), StageTally()],
                lastEvent: "a", lastTouchpoint: "web", painPoints: [], moments: 0)
        }
        // A slice that does not start at 0: positions are the slice's own.
        let shifted = [instances[0]] + instances
        let instanceOrder = KeyOrder.instances(shifted[1...], catalog: Self.catalog).map { instanceKeys[$0 - 1] }
        #expect(instanceOrder.elementsEqual(instanceKeys.sorted(by: Self.byteOrder)) { $0 == $1 })
    }

    @Test func bytesCompareAsTheCCollation() {
        #expect(KeyOrder.compareBytes("", "") == 0)
        #expect(KeyOrder.compareBytes("", "\u{0}") == -1)
        #expect(KeyOrder.compareBytes("ab", "ab\u{0}") == -1)
        #expect(KeyOrder.compareBytes("Z", "a") == -1)
        // U+00E9 is C3 A9, U+FB01 is EF AC 81: bytes, not Unicode's canonical order.
        #expect(KeyOrder.compareBytes("\u{FB01}", "é") == 1)
        #expect(KeyOrder.compareBytes("e\u{301}", "é") == -1)
        #expect(KeyOrder.compareBytes("customer-10", "customer-9") == -1)
    }
}
