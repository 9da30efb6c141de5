/// A binary min-heap. Small and allocation-free per operation; used for the reorder buffer
/// and the deadline schedule, where a sorted container would cost a log factor per element
/// in memory overhead as well as time.
public struct MinHeap<Element> {
    private var storage: [Element] = []
    private let less: (Element, Element) -> Bool

    /// Creates an empty heap ordered by `less` (the smallest element comes out first).
    public init(by less: @escaping (Element, Element) -> Bool) { self.less = less }

    /// Elements in the heap.
    public var count: Int { storage.count }
    /// Whether the heap is empty.
    public var isEmpty: Bool { storage.isEmpty }
    /// The smallest element, without removing it.
    public var first: Element? { storage.first }

    /// Adds an element.
    public mutating func push(_ element: Element) {
        storage.append(element)
        var child = storage.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            guard less(storage[child], storage[parent]) else { break }
            storage.swapAt(child, parent)
            child = parent
        }
    }

    /// Removes and returns the smallest element.
    @discardableResult
    public mutating func pop() -> Element? {
        guard !storage.isEmpty else { return nil }
        storage.swapAt(0, storage.count - 1)
        let top = storage.removeLast()
        var parent = 0
        while true {
            let left = 2 * parent + 1
            guard left < storage.count else { break }
            let right = left + 1
            var smallest = left
            if right < storage.count, less(storage[right], storage[left]) { smallest = right }
            guard less(storage[smallest], storage[parent]) else { break }
            storage.swapAt(parent, smallest)
            parent = smallest
        }
        return top
    }
}
