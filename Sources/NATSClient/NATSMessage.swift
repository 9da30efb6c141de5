import CNATS

/// A message received from NATS; from a JetStream consumer, it also carries its position
/// in the stream and is acknowledged through it.
public final class NATSMessage: @unchecked Sendable {
    let handle: OpaquePointer

    init(taking handle: OpaquePointer) { self.handle = handle }

    deinit { natsMsg_Destroy(handle) }

    /// The subject it was published on (after the server's mappings).
    public var subject: String { String(cString: natsMsg_GetSubject(handle)) }

    /// The payload's bytes.
    public var payload: [UInt8] {
        let count = Int(natsMsg_GetDataLength(handle))
        guard count > 0, let data = natsMsg_GetData(handle) else { return [] }
        return data.withMemoryRebound(to: UInt8.self, capacity: count) {
            Array(UnsafeBufferPointer(start: $0, count: count))
        }
    }

    /// A header's value (e.g. `Nats-Msg-Id`), nil when absent.
    public func header(_ name: String) -> String? {
        var value: UnsafePointer<CChar>?
        guard natsMsgHeader_Get(handle, name, &value) == NATS_OK, let value else { return nil }
        return String(cString: value)
    }

    /// Where a JetStream message sits: its stream and sequence there, and how many times it
    /// has been delivered (above 1: a redelivery).
    public func jetStreamPosition() throws(NATSError) -> JetStreamPosition {
        var meta: UnsafeMutablePointer<jsMsgMetaData>?
        try NATSError.check(natsMsg_GetMetaData(&meta, handle), "reading a JetStream message's metadata")
        defer { jsMsgMetaData_Destroy(meta) }
        let m = meta!.pointee
        return JetStreamPosition(
            stream: String(cString: m.Stream), streamSequence: m.Sequence.Stream, deliveries: m.NumDelivered,
            pending: m.NumPending)
    }

    /// Acknowledges a JetStream message without waiting for the server. Acknowledgements go
    /// out in order on the connection: a later ``acknowledge()`` that returns means this one
    /// reached the server too.
    public func acknowledgeWithoutWaiting() throws(NATSError) {
        try NATSError.check(natsMsg_Ack(handle, nil), "acknowledging a JetStream message")
    }

    /// Acknowledges a JetStream message and waits for the server to confirm it (so that
    /// after a return the server will not redeliver it).
    public func acknowledge() throws(NATSError) {
        var code = jsErrCode(0)
        try NATSError.check(
            natsMsg_AckSync(handle, nil, &code), "acknowledging a JetStream message", jetStreamCode: code)
    }
}

/// A JetStream message's position in its stream.
public struct JetStreamPosition: Sendable, Equatable {
    public var stream: String
    /// The stream sequence: 1 for the first message stored, ascending.
    public var streamSequence: UInt64
    /// Deliveries so far, this one included.
    public var deliveries: UInt64
    /// Messages after this one not yet delivered to the consumer.
    public var pending: UInt64
}
