import Foundation
import JourneyCore

/// Orders rows by their table's primary key before they are COPYed. A B-tree takes rows in
/// key order as appends to neighbouring leaves, rows in hash order as random inserts: the
/// same COPY into `cjm.journey_instances` took 2.5 s sorted against 4.8 s shuffled here
/// (and into a four-column key, 2.8 s against 7.2 s). Only speed depends on it.
///
/// Text compares by its UTF-8 bytes, the order of the `C` collation that cjmd's databases
/// are made with. Each row gets a sort key first: its journey's rank and eight bytes of its
/// customer id as one integer — the eight after the prefix all the ids share, since ids
/// are often made alike (`shop-eu-c12345`). Most comparisons end there, on two integers
/// held side by side, instead of reading two ids from wherever their strings live (the
/// sort runs before any row is sent, in series with everything else).
enum KeyOrder {
    /// Positions of `records` in (journey, customer, instance) order.
    static func instances(_ records: ArraySlice<InstanceRecord>, catalog: JourneyCatalog) -> [Int] {
        sorted(
            records.indices, catalog: catalog, journey: { records[$0].journey }, id: { records[$0].customerID },
            rest: { x, y in records[x].instance < records[y].instance })
    }

    /// Positions of `records` in (journey, customer, instance, moment) order.
    static func moments(_ records: ArraySlice<CriticalMomentRecord>, catalog: JourneyCatalog) -> [Int] {
        sorted(
            records.indices, catalog: catalog, journey: { records[$0].journey }, id: { records[$0].customerID },
            rest: { x, y in
                records[x].instance != records[y].instance
                    ? records[x].instance < records[y].instance : records[x].moment < records[y].moment
            })
    }

    /// Touchpoint keys in (journey, stage, touchpoint) order.
    static func touchpoints(_ keys: some Sequence<TouchpointKey>, catalog: JourneyCatalog) -> [TouchpointKey] {
        let ranks = journeyRanks(catalog)
        return keys.sorted { x, y in
            if x.journey != y.journey { return ranks[x.journey] < ranks[y.journey] }
            if x.stageIndex != y.stageIndex { return x.stageIndex < y.stageIndex }
            let touchpoint = compareBytes(x.touchpoint, y.touchpoint)
            if touchpoint != 0 { return touchpoint < 0 }
            return compareBytes(x.persona, y.persona) < 0
        }
    }

    /// What a row is sorted by before its id is read in full.
    private struct SortKey {
        var journey: Int
        /// The id's eight bytes after the prefix all ids share, big-endian, zero-padded:
        /// integer order is byte order, and equal ones (ids that differ later, or only by
        /// trailing zero bytes) go to the full comparison.
        var bytes: UInt64
        var index: Int
    }

    /// The positions in `indices` in (journey, id, then `rest`) order. The accessors take a
    /// position, not a record: handing a record to a closure copies it (a retain and a
    /// release of each of its strings and arrays), and a sort of ids that share their first
    /// bytes compares each pair in full, so that copying made the sort most of cjmd's time
    /// in a derived write of similar ids.
    @inline(__always)
    private static func sorted(
        _ indices: Range<Int>, catalog: JourneyCatalog, journey: (Int) -> Int, id: (Int) -> String,
        rest: (Int, Int) -> Bool
    ) -> [Int] {
        guard !indices.isEmpty else { return [] }
        let ranks = journeyRanks(catalog)
        // Every id's bytes side by side in one buffer, so that comparing two is a memcmp
        // with no reference counting.
        var bytes: [UInt8] = []
        var spans: [(start: Int, count: Int)] = []
        spans.reserveCapacity(indices.count)
        for index in indices {
            let start = bytes.count
            bytes.append(contentsOf: id(index).utf8)
            spans.append((start, bytes.count - start))
        }
        let base = indices.lowerBound
        return bytes.withUnsafeBufferPointer { buffer -> [Int] in
            let all = buffer.baseAddress ?? UnsafePointer(bitPattern: 1)!
            var shared = spans[0].count
            for span in spans where shared > 0 {
                var length = 0
                let limit = min(shared, span.count)
                while length < limit, all[spans[0].start + length] == all[span.start + length] { length += 1 }
                shared = length
            }
            var keys = indices.map { index in
                let span = spans[index - base]
                return SortKey(
                    journey: ranks[journey(index)],
                    bytes: eightBytes(UnsafeBufferPointer(start: all + span.start, count: span.count), after: shared),
                    index: index)
            }
            keys.sort { a, b in
                if a.journey != b.journey { return a.journey < b.journey }
                if a.bytes != b.bytes { return a.bytes < b.bytes }
                let x = spans[a.index - base]
                let y = spans[b.index - base]
                let common = min(x.count, y.count) - shared
                if common > 0 {
                    let order = memcmp(all + x.start + shared, all + y.start + shared, common)
                    if order != 0 { return order < 0 }
                }
                if x.count != y.count { return x.count < y.count }
                return rest(a.index, b.index)
            }
            return keys.map(\.index)
        }
    }

    /// The eight bytes of `id` from `offset` on as one big-endian integer, zero-padded.
    private static func eightBytes(_ id: UnsafeBufferPointer<UInt8>, after offset: Int) -> UInt64 {
        var value: UInt64 = 0
        var taken = 0
        for byte in id.dropFirst(offset).prefix(8) {
            value = value << 8 | UInt64(byte)
            taken += 1
        }
        return taken == 0 ? 0 : value << (8 * UInt64(8 - taken))
    }

    /// Each journey's place among the journeys' names in byte order.
    private static func journeyRanks(_ catalog: JourneyCatalog) -> [Int] {
        let names = catalog.journeys.map(\.name)
        var ranks = [Int](repeating: 0, count: names.count)
        for (rank, journey) in names.indices.sorted(by: { compareBytes(names[$0], names[$1]) < 0 }).enumerated() {
            ranks[journey] = rank
        }
        return ranks
    }

    /// −1, 0 or 1 as `a`'s UTF-8 bytes sort before, equal or after `b`'s (a prefix first).
    static func compareBytes(_ a: String, _ b: String) -> Int {
        var a = a
        var b = b
        return a.withUTF8 { x in
            b.withUTF8 { y in
                let common = min(x.count, y.count)
                if common > 0 {
                    let order = memcmp(x.baseAddress!, y.baseAddress!, common)
                    if order != 0 { return order < 0 ? -1 : 1 }
                }
                return x.count == y.count ? 0 : (x.count < y.count ? -1 : 1)
            }
        }
    }
}
