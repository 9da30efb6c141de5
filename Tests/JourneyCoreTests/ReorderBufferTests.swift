import JourneyReference
import Testing

@testable import JourneyCore

@Suite("Reorder buffer")
struct ReorderBufferTests {
    /// Interleaved pushes and pops against a sorted list: the buffer must hand out events in
    /// `(ts, sequence)` order, only when due, and reuse its slots without mixing events up.
    @Test(arguments: 1...20)
    func handsOutEventsInTimeThenArrivalOrder(seed: UInt64) {
        var random = SplitMix64(seed: seed)
        var buffer = ReorderBuffer()
        var model: [(time: Int64, sequence: Int64, id: String)] = []
        var sequence: Int64 = 0
        var watermark: Int64 = 0
        for _ in 0..<2_000 {
            if random.next() % 3 != 0 {
                let time = watermark + Int64(random.next() % 50)
                sequence += 1
                let id = "e\(sequence)"
                buffer.push(
                    TouchpointEvent(
                        eventID: id, customerID: "c", name: "n", time: EventTime(microseconds: time),
                        touchpoint: "web"), sequence: sequence, stages: StageMap([Int(sequence % 7), nil]))
                model.append((time, sequence, id))
            } else {
                watermark += Int64(random.next() % 20)
                model.sort { ($0.time, $0.sequence) < ($1.time, $1.sequence) }
                var expected: [String] = []
                while let first = model.first, first.time < watermark {
                    expected.append(first.id)
                    model.removeFirst()
                }
                var actual: [String] = []
                while let next = buffer.popFirst(where: { $0.microseconds < watermark }) {
                    actual.append(next.event.eventID)
                    // The stage map travels with its event.
                    let sequence = Int64(next.event.eventID.dropFirst())!
                    #expect(next.stages == StageMap([Int(sequence % 7), nil]))
                }
                #expect(actual == expected)
                #expect(buffer.count == model.count)
                #expect(buffer.firstTime?.microseconds == model.map(\.time).min())
            }
        }
    }
}
