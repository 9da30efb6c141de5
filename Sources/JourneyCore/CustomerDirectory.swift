/// The customer ids the engine has seen, each numbered in order of first appearance.
///
/// The engine keeps every customer it has seen (their instance counts number the next
/// instance), so this is its largest structure. A `[String: Int32]` beside an array of
/// `String`s costs about 130 bytes per 36-byte id here: a heap object per id plus a
/// dictionary of 16-byte keys at most 75 % full. Instead, ids are stored back to back in
/// one byte arena, and an open-addressing table of customer numbers finds them: about 36 +
/// 8 + 16 bytes per customer (issue 6, figure 3).
struct CustomerDirectory {
    /// Every id's UTF-8 bytes, back to back, in customer order.
    private var arena: [UInt8] = []
    /// Where each customer's id starts in `arena`; it ends where the next one starts.
    private var starts: [Int] = []
    /// Per slot, 0 when empty, else the customer number + 1 in the low 32 bits and the high
    /// 32 bits of its id's hash in the high ones; linear probing, a power-of-two count.
    /// The hash bits let a probe pass another customer's slot without reading that
    /// customer's id: with millions of customers each such read is a cache miss or two
    /// (`starts`, then `arena`): about a third of the engine's time per event in a saturated
    /// live run, before the hash bits.
    private var slots: [UInt64]
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
            let tag = Self.tag(hash)
            var slot = hash & mask
            while slots[slot] != 0 {
                let entry = slots[slot]
                if entry & Self.tagBits == tag {
                    let candidate = Self.number(entry)
                    if matches(candidate, bytes) { return candidate }
                }
                slot = (slot + 1) & mask
            }
            let number = Int32(starts.count)
            starts.append(arena.count)
            arena.append(contentsOf: bytes)
            slots[slot] = tag | UInt64(UInt32(number + 1))
            // At most 3/4 full: linear probing stays short (about 2.5 probes for a miss).
            if starts.count * 4 > slots.count * 3 { grow() }
            return number
        }
    }

    /// The id of customer `number`.
    func id(_ number: Int32) -> String {
        let range = span(number)
        return arena.withUnsafeBufferPointer {
            String(decoding: UnsafeBufferPointer(rebasing: $0[range]), as: UTF8.self)
        }
    }

    private func span(_ number: Int32) -> Range<Int> {
        let n = Int(number)
        let end = n + 1 < starts.count ? starts[n + 1] : arena.count
        return starts[n]..<end
    }

    private func matches(_ number: Int32, _ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        let range = span(number)
        guard range.count == bytes.count else { return false }
        return arena.withUnsafeBufferPointer { stored in
            Self.equalBytes(
                UnsafeRawBufferPointer(UnsafeBufferPointer(rebasing: stored[range])), UnsafeRawBufferPointer(bytes))
        }
    }

    /// Whether two byte runs of the same length are equal, eight bytes at a time (the
    /// generic `elementsEqual` goes byte by byte).
    static func equalBytes(_ a: UnsafeRawBufferPointer, _ b: UnsafeRawBufferPointer) -> Bool {
        var offset = 0
        while offset + 8 <= a.count {
            if a.loadUnaligned(fromByteOffset: offset, as: UInt64.self)
                != b.loadUnaligned(fromByteOffset: offset, as: UInt64.self)
            {
                return false
            }
            offset += 8
        }
        while offset < a.count {
            if a[offset] != b[offset] { return false }
            offset += 1
        }
        return true
    }

    private mutating func grow() {
        let capacity = slots.count * 2
        var table = [UInt64](repeating: 0, count: capacity)
        let newMask = capacity - 1
        // The stored tags are the hashes' high bits; the slot needs the low ones, so each id
        // is hashed again (once per doubling: a constant amount per customer overall).
        arena.withUnsafeBufferPointer { stored in
            for n in 0..<starts.count {
                let range = span(Int32(n))
                let hash = Self.hash(UnsafeBufferPointer(rebasing: stored[range]))
                var slot = hash & newMask
                while table[slot] != 0 { slot = (slot + 1) & newMask }
                table[slot] = Self.tag(hash) | UInt64(UInt32(n + 1))
            }
        }
        slots = table
        mask = newMask
    }

    private static let tagBits: UInt64 = 0xFFFF_FFFF_0000_0000

    /// The high 32 bits of `hash`, in place: what a slot keeps of its id's hash. The slot
    /// index uses the low bits, so within one probe sequence the tags still tell ids apart.
    private static func tag(_ hash: Int) -> UInt64 { UInt64(bitPattern: Int64(hash)) & tagBits }

    /// The customer number a non-empty slot holds.
    private static func number(_ entry: UInt64) -> Int32 { Int32(truncatingIfNeeded: entry & 0xFFFF_FFFF) - 1 }

    private static func hash(_ bytes: UnsafeBufferPointer<UInt8>) -> Int {
        var hasher = Hasher()
        hasher.combine(bytes: UnsafeRawBufferPointer(bytes))
        return hasher.finalize()
    }
}
