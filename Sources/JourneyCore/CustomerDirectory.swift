/// The customer ids the engine has seen, each numbered in order of first appearance.
///
/// The engine keeps every customer it has seen (their instance counts number the next
/// instance), so this is its largest structure. A `[String: Int32]` beside an array of
/// `String`s costs about 130 bytes per 36-byte id here: a heap object per id plus a
/// dictionary of 16-byte keys at most 75 % full. Instead, ids are stored back to back in
/// one byte arena, and an open-addressing table of customer numbers finds them: about 36 +
/// 8 + 8 bytes per customer (issue 6, figure 3).
struct CustomerDirectory {
    /// Every id's UTF-8 bytes, back to back, in customer order.
    private var arena: [UInt8] = []
    /// Where each customer's id starts in `arena`; it ends where the next one starts.
    private var starts: [Int] = []
    /// Customer number + 1 per slot, 0 when empty; linear probing, a power-of-two count.
    private var slots: [Int32]
    /// Hashes are seeded per process (`Hasher`), so the table's layout is not predictable
    /// from the outside and crafted ids cannot pile up in one probe sequence.
    private var mask: Int

    init() {
        slots = Array(repeating: 0, count: 16)
        mask = 15
    }

    /// Customers stored.
    var count: Int { starts.count }

    /// The number of `id`, storing it first if it is new.
    mutating func number(of id: String) -> Int32 {
        var id = id
        return id.withUTF8 { bytes in
            let hash = Self.hash(bytes)
            var slot = hash & mask
            while slots[slot] != 0 {
                let candidate = slots[slot] - 1
                if matches(candidate, bytes) { return candidate }
                slot = (slot + 1) & mask
            }
            let number = Int32(starts.count)
            starts.append(arena.count)
            arena.append(contentsOf: bytes)
            slots[slot] = number + 1
            // At most 3/4 full: linear probing stays short (about 2.5 probes for a miss).
            if starts.count * 4 > slots.count * 3 { grow() }
            return number
        }
    }

    /// The id of customer `number`.
    func id(_ number: Int32) -> String {
        let range = span(number)
        return arena.withUnsafeBufferPointer { String(decoding: UnsafeBufferPointer(rebasing: $0[range]), as: UTF8.self) }
    }

    private func span(_ number: Int32) -> Range<Int> {
        let n = Int(number)
        let end = n + 1 < starts.count ? starts[n + 1] : arena.count
        return starts[n]..<end
    }

    private func matches(_ number: Int32, _ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        let range = span(number)
        guard range.count == bytes.count else { return false }
        return arena.withUnsafeBufferPointer { UnsafeBufferPointer(rebasing: $0[range]).elementsEqual(bytes) }
    }

    private mutating func grow() {
        let capacity = slots.count * 2
        var table = [Int32](repeating: 0, count: capacity)
        let newMask = capacity - 1
        arena.withUnsafeBufferPointer { stored in
            for n in 0..<starts.count {
                let range = span(Int32(n))
                var slot = Self.hash(UnsafeBufferPointer(rebasing: stored[range])) & newMask
                while table[slot] != 0 { slot = (slot + 1) & newMask }
                table[slot] = Int32(n) + 1
            }
        }
        slots = table
        mask = newMask
    }

    private static func hash(_ bytes: UnsafeBufferPointer<UInt8>) -> Int {
        var hasher = Hasher()
        hasher.combine(bytes: UnsafeRawBufferPointer(bytes))
        return hasher.finalize()
    }
}
