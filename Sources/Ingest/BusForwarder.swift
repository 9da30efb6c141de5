import DaemonSettings
import IngestEnvelope
import JourneyCore
import JourneyStore
import NATSClient

/// Gateway mode: publishes the accepted events of sources with `forward_to` to their bus,
/// each to its customer's partition (docs/scaling.md), and returns once JetStream has
/// acknowledged every one. The commit loop calls it before committing the batch's dead
/// letters and file positions, and releases the clients' acknowledgements only after both.
///
/// Used by the commit loop's one thread only. Connects on first use and again after a
/// failure; a publish that fails is repeated whole (JetStream drops the messages it already
/// has by `Nats-Msg-Id`, the event id; the shards skip event ids they stored).
final class BusForwarder {
    /// Message headers: the source that accepted the event, and when (microseconds since
    /// 1970), so that a shard stores the event as the gateway received it.
    static let sourceHeader = "Cjm-Source"
    static let receivedAtHeader = "Cjm-Received-At"

    let name: String
    let settings: JetStreamSourceSettings
    private var publisher: JetStreamBatchPublisher?
    private var connection: NATSConnection?

    init(name: String, settings: JetStreamSourceSettings) {
        self.name = name
        self.settings = settings
    }

    /// Publishes `events` (each with its line); returns how many the bus stored now and how
    /// many it had already.
    func publish(_ events: [AcceptedEvent]) throws(NATSError) -> JetStreamBatchPublisher.Outcome {
        let publisher = try connected()
        let messages = events.map { accepted in
            let customer = accepted.event.customerID
            let token = CustomerPartition.token(for: customer)
            let partition = CustomerPartition.partition(ofToken: token, partitions: settings.partitions)
            return JetStreamBatchPublisher.Message(
                subject: "\(settings.subject).\(partition).\(token)", payload: accepted.line ?? [],
                id: accepted.event.eventID,
                headers: [
                    (Self.sourceHeader, accepted.source),
                    (Self.receivedAtHeader, String(accepted.receivedAt.microseconds)),
                ])
        }
        do {
            return try publisher.publish(messages)
        } catch {
            // Reconnected on the next attempt: a connection that lost its way is not reused.
            if error.isUnavailable { disconnect() }
            throw error
        }
    }

    /// Drops the connection (the next publish connects again).
    func disconnect() {
        publisher = nil
        connection?.close()
        connection = nil
    }

    private func connected() throws(NATSError) -> JetStreamBatchPublisher {
        if let publisher { return publisher }
        let connection = try NATSConnection(servers: settings.servers, name: "cjmd gateway (\(name))")
        let jetStream = try connection.jetStream()
        try jetStream.ensureStreams(of: settings)
        let publisher = try JetStreamBatchPublisher(connection: connection)
        self.connection = connection
        self.publisher = publisher
        return publisher
    }
}

/// The forwarders of a commit loop, one per bus, following the configuration.
struct BusForwarders {
    private var byName: [String: BusForwarder] = [:]

    /// Publishes the batch's events whose source forwards to a bus under `configuration` and
    /// removes them from the batch; the rest stays for the database. Returns the events
    /// published, by source. On a throw the batch is unchanged.
    mutating func forward(_ batch: inout IngestBatch, configuration: CJMConfiguration) throws(NATSError)
        -> [String: Int]
    {
        var targets: [String: String] = [:]
        var buses: [String: JetStreamSourceSettings] = [:]
        for source in configuration.sources {
            if let bus = source.forwardTo { targets[source.name] = bus }
            if case .jetstream(let settings) = source.kind { buses[source.name] = settings }
        }
        guard !targets.isEmpty else { return [:] }
        var outgoing: [String: [AcceptedEvent]] = [:]
        var forwardedIndices: [Int] = []
        for (index, event) in batch.events.enumerated() where event.line != nil {
            guard let bus = targets[event.source], buses[bus] != nil else { continue }
            outgoing[bus, default: []].append(event)
            forwardedIndices.append(index)
        }
        guard !forwardedIndices.isEmpty else { return [:] }
        for (bus, events) in outgoing.sorted(by: { $0.key < $1.key }) {
            let settings = buses[bus]!
            if byName[bus]?.settings != settings {
                byName[bus]?.disconnect()
                byName[bus] = BusForwarder(name: bus, settings: settings)
            }
            _ = try byName[bus]!.publish(events)
        }
        var bySource: [String: Int] = [:]
        for events in outgoing.values {
            for event in events { bySource[event.source, default: 0] += 1 }
        }
        let forwarded = Set(forwardedIndices)
        batch.events = batch.events.enumerated().filter { !forwarded.contains($0.offset) }.map(\.element)
        return bySource
    }
}
