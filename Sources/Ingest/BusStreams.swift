import DaemonSettings
import NATSClient

extension JetStreamSourceSettings {
    /// What cjmd asks of partition `p`'s stream when it creates it (docs/scaling.md).
    func streamSettings(partition p: Int) -> JetStream.StreamSettings {
        JetStream.StreamSettings(
            name: streamName(partition: p), subjects: [subjectFilter(partition: p)], replicas: replicas)
    }
}

extension JetStream {
    /// Creates the bus's missing streams, every partition's; the answer to each create is
    /// compared with the request (``ensureStream(_:)``).
    func ensureStreams(of bus: JetStreamSourceSettings) throws(NATSError) {
        for partition in 0..<bus.partitions { try ensureStream(bus.streamSettings(partition: partition)) }
    }
}
