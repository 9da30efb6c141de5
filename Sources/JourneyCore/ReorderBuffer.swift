/// The reorder buffer: accepted events waiting for the watermark, smallest `(ts, sequence)`
/// first.
///
/// Events are large (several strings each), and a heap moves its elements log n times per
/// push and pop; moving whole events made the heap the replay's hottest spot (reference
/// counting of every string on every swap). So the heap orders small plain keys and the
/// events stay put in a slab until they leave.
struct ReorderBuffer {
    private struct Key {
        var time: Int64
        var sequence: Int64
        var slot: Int32
    }

    private var heap = MinHeap<Key> { ($0.time, $0.sequence) < ($1.time, $1.sequence) }
    private var slots: [(event: TouchpointEvent, stages: StageMap)?] = []
    private var freeSlots: [Int32] = []

    /// Events waiting.
    var count: Int { heap.count }

    /// The time of the earliest waiting event.
    var firstTime: EventTime? { heap.first.map { EventTime(microseconds: $0.time) } }

    /// Adds an event with its arrival sequence (the tie-breaker among equal times) and its
    /// stage map.
    mutating func push(_ event: TouchpointEvent, sequence: Int64, stages: StageMap) {
        let slot: Int32
        if let reused = freeSlots.popLast() {
            slot = reused
            slots[Int(slot)] = (event, stages)
        } else {
            slot = Int32(slots.count)
            slots.append((event, stages))
        }
        heap.push(Key(time: event.time.microseconds, sequence: sequence, slot: slot))
    }

    /// Removes and returns the earliest event, with its stage map, if its time satisfies `isDue`.
    mutating func popFirst(where isDue: (EventTime) -> Bool) -> (event: TouchpointEvent, stages: StageMap)? {
        guard let top = heap.first, isDue(EventTime(microseconds: top.time)) else { return nil }
        heap.pop()
        let event = slots[Int(top.slot)].take()
        freeSlots.append(top.slot)
        if heap.isEmpty {
            // Give the slab back once drained (a replay's burst can be large).
            let keepCapacity = slots.count <= 4096
            slots.removeAll(keepingCapacity: keepCapacity)
            freeSlots.removeAll(keepingCapacity: keepCapacity)
        }
        return event
    }
}
