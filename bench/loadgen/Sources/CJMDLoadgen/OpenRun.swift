import Foundation

/// Opens `instances` journey instances: one stage-0 event for each of as many distinct
/// customers, stamped now, spread over the connections, each acknowledged. Customer ids are
/// `idBytes` long (default 36, the length of a UUID such as Segment's anonymousId), since
/// their storage is part of what an open instance costs.
struct OpenRun {
    let options: Options

    func run() throws(LoadgenError) {
        guard let endpoint = options.endpoint else { return }
        let options = self.options
        let totals = Totals()
        let started = monotonicNanoseconds()
        let event = options.vocabulary.stageEvents[0][0]
        try ConnectionWorkers.run(count: options.connections) { index throws(LoadgenError) in
            let stream = AckedStream(connection: try endpoint.connect(), maxOutstanding: options.maxOutstanding)
            var clock = WallClockText()
            var chunk: [UInt8] = []
            chunk.reserveCapacity(options.ackEvery * 200 + 16)
            var customer = index
            while customer < options.instances {
                chunk.removeAll(keepingCapacity: true)
                var lines = 0
                while lines < options.ackEvery && customer < options.instances {
                    let id = Self.customerID(tag: options.tag, number: customer, bytes: options.idBytes)
                    chunk.appendText(#"{"event_id":""#)
                    chunk.append(contentsOf: id)
                    chunk.appendText(#"","customer_id":""#)
                    chunk.append(contentsOf: id)
                    chunk.appendText(#"","event":""#)
                    chunk.appendText(event)
                    chunk.appendText(#"","ts":""#)
                    clock.appendNow(to: &chunk, microsecondDigit: 0)
                    // A persona per customer (issue 23: memory is measured with one), five of them.
                    chunk.appendText(#"","touchpoint":"ads","traits":{"persona":"persona-"#)
                    chunk.appendText(String(customer % 5))
                    chunk.appendText(#""}}"#)
                    chunk.append(UInt8(ascii: "\n"))
                    lines += 1
                    customer += options.connections
                }
                chunk.appendText("{\"ack\": true}\n")
                try stream.send(chunk, lines: lines)
            }
            let lastAck = try stream.waitForAllAcknowledged(timeoutSeconds: 1800)
            stream.finish()
            totals.add(lines: stream.sent, lastAck: lastAck)
        }
        let seconds = Double(max(totals.lastAck, started) - started) / 1e9
        print("instances_acked=\(totals.lines)")
        print("id_bytes=\(options.idBytes)")
        print("seconds=\(String(format: "%.3f", seconds))")
        print("events_per_second=\(String(format: "%.0f", Double(totals.lines) / max(seconds, 1e-9)))")
    }

    /// `TAG-000…N`, zero-padded to `bytes` when the tag and number leave room.
    static func customerID(tag: String, number: Int, bytes: Int) -> [UInt8] {
        var id = Array(tag.utf8)
        id.append(UInt8(ascii: "-"))
        let digits = String(number).utf8.count
        id.appendDecimal(number, width: max(digits, bytes - id.count))
        return id
    }
}
