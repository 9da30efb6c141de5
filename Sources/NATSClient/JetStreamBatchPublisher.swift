import CNATS
import Synchronization

/// Publishes batches of messages to JetStream and returns once every one is acknowledged —
/// stored on a majority of its stream's replicas — or throws: the caller acknowledges its own
/// clients only after a return, and on a throw publishes the whole batch again (each message
/// carries its id as `Nats-Msg-Id`, so JetStream drops the ones it already has).
///
/// Messages go out asynchronously and their acknowledgements are collected as they come, so a
/// batch costs about one round trip rather than one per message. One batch at a time.
public final class JetStreamBatchPublisher: @unchecked Sendable {
    /// One message of a batch.
    public struct Message: Sendable {
        public var subject: String
        public var payload: [UInt8]
        /// Unique per message (cjmd: the event id); the stream keeps one message per id
        /// within its duplicate window.
        public var id: String
        /// Further headers (name, value).
        public var headers: [(name: String, value: String)]

        public init(subject: String, payload: [UInt8], id: String, headers: [(name: String, value: String)] = []) {
            self.subject = subject
            self.payload = payload
            self.id = id
            self.headers = headers
        }
    }

    /// What a published batch did.
    public struct Outcome: Sendable, Equatable {
        /// Messages the streams stored now.
        public var stored: Int
        /// Messages the streams had already (same id within the duplicate window).
        public var duplicates: Int

        public init(stored: Int, duplicates: Int) {
            self.stored = stored
            self.duplicates = duplicates
        }
    }

    private let connection: NATSConnection
    private let handle: OpaquePointer
    private let acknowledgements: AcknowledgementLog
    private let timeoutMilliseconds: Int64

    /// A publisher on `connection`; a batch fails when its acknowledgements have not all come
    /// within `timeoutMilliseconds` of its last message.
    public init(connection: NATSConnection, timeoutMilliseconds: Int64 = 10_000, maxPending: Int64 = 8_192)
        throws(NATSError)
    {
        self.connection = connection
        self.timeoutMilliseconds = timeoutMilliseconds
        let log = AcknowledgementLog()
        acknowledgements = log
        var options = jsOptions()
        try NATSError.check(jsOptions_Init(&options), "initialising JetStream options")
        options.Wait = timeoutMilliseconds
        options.PublishAsync.MaxPending = maxPending
        options.PublishAsync.StallWait = timeoutMilliseconds
        options.PublishAsync.AckHandler = { _, message, ack, failure, closure in
            let log = Unmanaged<AcknowledgementLog>.fromOpaque(closure!).takeUnretainedValue()
            var id: UnsafePointer<CChar>?
            let messageID =
                natsMsgHeader_Get(message, "Nats-Msg-Id", &id) == NATS_OK && id != nil ? String(cString: id!) : ""
            if let ack {
                log.record(id: messageID, duplicate: ack.pointee.Duplicate)
            } else if let failure {
                log.record(
                    id: messageID,
                    failure: NATSError(
                        status: failure.pointee.Err, operation: "publishing message \(messageID)",
                        jetStreamCode: failure.pointee.ErrCode))
            }
            natsMsg_Destroy(message)
        }
        // The log lives as long as the context: released in deinit, after the context.
        options.PublishAsync.AckHandlerClosure = Unmanaged.passRetained(log).toOpaque()
        var context: OpaquePointer?
        let status = natsConnection_JetStream(&context, connection.handle, &options)
        guard status == NATS_OK, let context else {
            Unmanaged.passUnretained(log).release()
            throw NATSError(status: status, operation: "opening JetStream for publishing")
        }
        handle = context
    }

    deinit {
        jsCtx_Destroy(handle)
        Unmanaged.passUnretained(acknowledgements).release()
    }

    /// Publishes `messages` and waits for every acknowledgement.
    public func publish(_ messages: [Message]) throws(NATSError) -> Outcome {
        guard !messages.isEmpty else { return Outcome(stored: 0, duplicates: 0) }
        acknowledgements.begin()
        for message in messages {
            let status = Self.publishAsync(message, on: handle)
            guard status == NATS_OK else {
                abandonPending()
                throw NATSError(status: status, operation: "publishing to \(message.subject)")
            }
        }
        var wait = jsPubOptions()
        try NATSError.check(jsPubOptions_Init(&wait), "initialising publish options")
        wait.MaxWait = timeoutMilliseconds
        let completed = js_PublishAsyncComplete(handle, &wait)
        if completed != NATS_OK {
            abandonPending()
            throw NATSError(
                status: completed, operation: "waiting for JetStream to acknowledge \(messages.count) messages")
        }
        // Complete returns once nothing is pending; the handler of the last acknowledgement
        // may still be running on nats.c's thread.
        let result = acknowledgements.end(expecting: messages.count, waitingMilliseconds: timeoutMilliseconds)
        if let failure = result.failure { throw failure }
        guard result.answered == messages.count else {
            throw NATSError(
                status: NATS_TIMEOUT,
                operation:
                    "waiting for JetStream to acknowledge \(messages.count) messages (\(result.answered) answered)")
        }
        return Outcome(stored: result.stored, duplicates: result.duplicates)
    }

    /// Hands one message to nats.c, which owns it from then on.
    private static func publishAsync(_ message: Message, on context: OpaquePointer) -> natsStatus {
        var handle: OpaquePointer?
        var status = message.payload.withUnsafeBytes { bytes in
            natsMsg_Create(
                &handle, message.subject, nil, bytes.baseAddress?.assumingMemoryBound(to: CChar.self),
                Int32(bytes.count))
        }
        guard status == NATS_OK else { return status }
        status = natsMsgHeader_Set(handle, "Nats-Msg-Id", message.id)
        for header in message.headers where status == NATS_OK {
            status = natsMsgHeader_Set(handle, header.name, header.value)
        }
        if status == NATS_OK { status = js_PublishMsgAsync(context, &handle, nil) }
        // Left to us when nats.c did not take it (the pointer is cleared when it did).
        natsMsg_Destroy(handle)
        return status
    }

    /// Takes back what is still unacknowledged (a later acknowledgement of it is dropped):
    /// the caller publishes the batch again.
    private func abandonPending() {
        var pending = natsMsgList()
        if js_PublishAsyncGetPendingList(&pending, handle) == NATS_OK { natsMsgList_Destroy(&pending) }
        _ = acknowledgements.end()
    }
}

/// The acknowledgements of the batch in flight, written by nats.c's thread.
final class AcknowledgementLog: Sendable {
    struct Tally {
        var stored = 0
        var duplicates = 0
        var failures = 0
        var failure: NATSError?

        var answered: Int { stored + duplicates + failures }
    }

    private let tally = Mutex(Tally())

    func begin() { tally.withLock { $0 = Tally() } }

    func record(id: String, duplicate: Bool) {
        tally.withLock { if duplicate { $0.duplicates += 1 } else { $0.stored += 1 } }
    }

    func record(id: String, failure: NATSError) {
        tally.withLock {
            $0.failures += 1
            if $0.failure == nil { $0.failure = failure }
        }
    }

    /// The batch's tally once `count` messages are answered or `waitingMilliseconds` passed;
    /// the log is reset for the next batch.
    func end(expecting count: Int = 0, waitingMilliseconds: Int64 = 0) -> Tally {
        let clock = ContinuousClock()
        let deadline = clock.now.advanced(by: .milliseconds(waitingMilliseconds))
        while tally.withLock({ $0.answered < count }), clock.now < deadline {
            nats_Sleep(1)
        }
        return tally.withLock {
            let result = $0
            $0 = Tally()
            return result
        }
    }
}
