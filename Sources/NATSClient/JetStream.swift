import CNATS

#if canImport(Glibc)
    import Glibc
#endif

/// JetStream on a ``NATSConnection``: streams, acknowledged publishes, pull consumers.
public final class JetStream: @unchecked Sendable {
    let handle: OpaquePointer
    /// Kept alive while the context is.
    let connection: NATSConnection

    init(handle: OpaquePointer, connection: NATSConnection) {
        self.handle = handle
        self.connection = connection
    }

    deinit { jsCtx_Destroy(handle) }

    /// What cjmd asks of a stream it creates.
    public struct StreamSettings: Sendable, Equatable {
        public var name: String
        public var subjects: [String]
        /// Copies on different servers of the cluster (1, 3 or 5).
        public var replicas: Int
        /// How long the stream remembers message ids to drop a republished one (`Nats-Msg-Id`).
        public var duplicateWindowSeconds: Int64

        public init(name: String, subjects: [String], replicas: Int, duplicateWindowSeconds: Int64 = 120) {
            self.name = name
            self.subjects = subjects
            self.replicas = replicas
            self.duplicateWindowSeconds = duplicateWindowSeconds
        }
    }

    /// Creates the stream unless one of that name exists (whatever its settings: an operator's
    /// own choices for an existing stream win). Returns whether it was created.
    @discardableResult
    public func ensureStream(_ settings: StreamSettings) throws(NATSError) -> Bool {
        if try streamMessages(settings.name) != nil { return false }
        var config = jsStreamConfig()
        try NATSError.check(jsStreamConfig_Init(&config), "initialising a stream configuration")
        var info: UnsafeMutablePointer<jsStreamInfo>?
        var code = jsErrCode(0)
        let subjects = settings.subjects.map { strdup($0) }
        defer { subjects.forEach { free($0) } }
        let status = settings.name.withCString { name in
            subjects.map { UnsafePointer($0) }.withUnsafeBufferPointer { subjectPointers in
                config.Name = name
                config.Subjects = UnsafeMutablePointer(mutating: subjectPointers.baseAddress)
                config.SubjectsLen = Int32(subjectPointers.count)
                config.Replicas = Int64(settings.replicas)
                config.Storage = js_FileStorage
                config.Duplicates = settings.duplicateWindowSeconds * 1_000_000_000
                return js_AddStream(&info, handle, &config, nil, &code)
            }
        }
        defer { if let info { jsStreamInfo_Destroy(info) } }
        // Another daemon may have created it meanwhile: that is as good.
        if status != NATS_OK, try streamMessages(settings.name) != nil { return false }
        try NATSError.check(status, "creating stream \(settings.name)", jetStreamCode: code)
        if let created = info?.pointee.Config?.pointee {
            let subjects = (0..<Int(created.SubjectsLen)).compactMap {
                created.Subjects[$0].map { String(cString: $0) }
            }
            try Self.refuseIgnored(
                [
                    ("subjects", settings.subjects.joined(separator: ","), subjects.joined(separator: ",")),
                    ("num_replicas", "\(settings.replicas)", "\(created.Replicas)"),
                    ("duplicate_window", "\(settings.duplicateWindowSeconds * 1_000_000_000)", "\(created.Duplicates)"),
                    ("storage", "file", created.Storage == js_FileStorage ? "file" : "memory"),
                ], creating: "stream \(settings.name)")
        }
        return true
    }

    /// Throws when the server's answer to a create request shows a setting other than asked
    /// (`settings`: name, asked, answered): a server that does not know a setting drops it
    /// from the request without a word, and cjmd will not run on settings it did not get.
    static func refuseIgnored(_ settings: [(name: String, asked: String, answered: String)], creating what: String)
        throws(NATSError)
    {
        let ignored = settings.filter { $0.asked != $0.answered }
        guard !ignored.isEmpty else { return }
        throw NATSError(
            settingsIgnored: ignored.map { "\($0.name) (asked \($0.asked), got \($0.answered))" },
            operation: "creating \(what)")
    }

    /// The stream's message count and last sequence, nil when there is no such stream.
    public func streamMessages(_ name: String) throws(NATSError) -> (messages: UInt64, lastSequence: UInt64)? {
        var info: UnsafeMutablePointer<jsStreamInfo>?
        var code = jsErrCode(0)
        let status = js_GetStreamInfo(&info, handle, name, nil, &code)
        if status == NATS_NOT_FOUND { return nil }
        try NATSError.check(status, "reading stream \(name)", jetStreamCode: code)
        defer { jsStreamInfo_Destroy(info) }
        let state = info!.pointee.State
        return (state.Msgs, state.LastSeq)
    }

    /// The sequence of the stream's oldest message (the last one's + 1 when empty), nil when
    /// there is no such stream. Below it, messages were removed by the stream's limits.
    public func streamFirstSequence(_ name: String) throws(NATSError) -> UInt64? {
        var info: UnsafeMutablePointer<jsStreamInfo>?
        var code = jsErrCode(0)
        let status = js_GetStreamInfo(&info, handle, name, nil, &code)
        if status == NATS_NOT_FOUND { return nil }
        try NATSError.check(status, "reading stream \(name)", jetStreamCode: code)
        defer { jsStreamInfo_Destroy(info) }
        return info!.pointee.State.FirstSeq
    }

    /// The `server_name` of the server leading the stream in a cluster; nil for a stream of
    /// one replica, or while it has no leader.
    public func streamLeader(_ name: String) throws(NATSError) -> String? {
        var info: UnsafeMutablePointer<jsStreamInfo>?
        var code = jsErrCode(0)
        try NATSError.check(
            js_GetStreamInfo(&info, handle, name, nil, &code), "reading stream \(name)", jetStreamCode: code)
        defer { jsStreamInfo_Destroy(info) }
        guard let cluster = info!.pointee.Cluster, let leader = cluster.pointee.Leader else { return nil }
        return String(cString: leader)
    }

    /// Publishes `payload` on `subject` and waits for JetStream's acknowledgement: after a
    /// return the message is stored (on a majority of the stream's replicas). `messageID`
    /// (`Nats-Msg-Id`) makes a republish within the duplicate window a no-op, reported as
    /// ``PublishAcknowledgement/duplicate``.
    public func publish(subject: String, payload: [UInt8], messageID: String) throws(NATSError)
        -> PublishAcknowledgement
    {
        var options = jsPubOptions()
        try NATSError.check(jsPubOptions_Init(&options), "initialising publish options")
        var ack: UnsafeMutablePointer<jsPubAck>?
        var code = jsErrCode(0)
        let status = messageID.withCString { id in
            options.MsgId = id
            return payload.withUnsafeBytes {
                js_Publish(&ack, handle, subject, $0.baseAddress, Int32($0.count), &options, &code)
            }
        }
        try NATSError.check(status, "publishing to \(subject)", jetStreamCode: code)
        defer { jsPubAck_Destroy(ack) }
        let a = ack!.pointee
        return PublishAcknowledgement(stream: String(cString: a.Stream), sequence: a.Sequence, duplicate: a.Duplicate)
    }

    /// A durable pull consumer of `stream`'s messages on `subject` with explicit acks, created
    /// when missing: what is not acknowledged within `ackWaitSeconds` is delivered again.
    /// Created apart from the subscription, so that closing the subscription leaves it (and
    /// its position) to the next daemon.
    ///
    /// `startingAfter`: the consumer is made anew (an existing one of that name deleted) to
    /// deliver from the message after that stream sequence: a shard's position is the one it
    /// committed, whatever the old consumer had acknowledged.
    public func pullConsumer(
        stream: String, subject: String, durable: String, ackWaitSeconds: Int64 = 30, startingAfter: UInt64? = nil,
        maxAckPending: Int64 = 1000
    ) throws(NATSError) -> JetStreamPullConsumer {
        var code = jsErrCode(0)
        var lookup: natsStatus
        if startingAfter != nil {
            // Whatever consumer of that name exists goes, unlooked-at: asking it first goes to
            // its leader, and one left without a leader by a lost server answers "JetStream
            // temporarily unavailable" for good, while the stream's meta leader deletes it.
            let deleted = js_DeleteConsumer(handle, stream, durable, nil, &code)
            if deleted != NATS_OK && deleted != NATS_NOT_FOUND {
                try NATSError.check(deleted, "deleting consumer \(durable) of stream \(stream)", jetStreamCode: code)
            }
            lookup = NATS_NOT_FOUND
        } else {
            var existing: UnsafeMutablePointer<jsConsumerInfo>?
            lookup = js_GetConsumerInfo(&existing, handle, stream, durable, nil, &code)
            if lookup == NATS_OK { jsConsumerInfo_Destroy(existing) }
        }
        if lookup == NATS_NOT_FOUND {
            var config = jsConsumerConfig()
            try NATSError.check(jsConsumerConfig_Init(&config), "initialising a consumer configuration")
            var created: UnsafeMutablePointer<jsConsumerInfo>?
            let status = durable.withCString { durableName in
                subject.withCString { filter in
                    config.Durable = durableName
                    config.FilterSubject = filter
                    config.AckWait = ackWaitSeconds * 1_000_000_000
                    config.MaxAckPending = maxAckPending
                    config.AckPolicy = js_AckExplicit
                    if let after = startingAfter {
                        config.DeliverPolicy = js_DeliverByStartSequence
                        config.OptStartSeq = after + 1
                    } else {
                        config.DeliverPolicy = js_DeliverAll
                    }
                    return js_AddConsumer(&created, handle, stream, &config, nil, &code)
                }
            }
            defer { if let created { jsConsumerInfo_Destroy(created) } }
            try NATSError.check(status, "creating consumer \(durable) of stream \(stream)", jetStreamCode: code)
            if let answered = created?.pointee.Config?.pointee {
                try Self.refuseIgnored(
                    [
                        ("filter_subject", subject, answered.FilterSubject.map { String(cString: $0) } ?? ""),
                        ("ack_policy", "explicit", answered.AckPolicy == js_AckExplicit ? "explicit" : "other"),
                        ("ack_wait", "\(ackWaitSeconds * 1_000_000_000)", "\(answered.AckWait)"),
                        ("max_ack_pending", "\(maxAckPending)", "\(answered.MaxAckPending)"),
                        (
                            "opt_start_seq", startingAfter.map { "\($0 + 1)" } ?? "none",
                            startingAfter == nil ? "none" : "\(answered.OptStartSeq)"
                        ),
                    ], creating: "consumer \(durable) of stream \(stream)")
            }
        } else {
            try NATSError.check(lookup, "reading consumer \(durable) of stream \(stream)", jetStreamCode: code)
        }
        var options = jsSubOptions()
        try NATSError.check(jsSubOptions_Init(&options), "initialising subscription options")
        var subscription: OpaquePointer?
        let status = stream.withCString { streamName in
            durable.withCString { durableName in
                options.Stream = streamName
                options.Consumer = durableName
                return js_PullSubscribe(&subscription, handle, subject, durable, nil, &options, &code)
            }
        }
        try NATSError.check(status, "pulling from stream \(stream) as \(durable)", jetStreamCode: code)
        return JetStreamPullConsumer(handle: subscription!, context: self)
    }
}

/// JetStream's answer to a publish.
public struct PublishAcknowledgement: Sendable, Equatable {
    public var stream: String
    public var sequence: UInt64
    /// The stream had a message of that id within its duplicate window: this one was dropped.
    public var duplicate: Bool

    public init(stream: String, sequence: UInt64, duplicate: Bool) {
        self.stream = stream
        self.sequence = sequence
        self.duplicate = duplicate
    }
}

/// A durable pull consumer, read in batches.
public final class JetStreamPullConsumer: @unchecked Sendable {
    let handle: OpaquePointer
    let context: JetStream

    init(handle: OpaquePointer, context: JetStream) {
        self.handle = handle
        self.context = context
    }

    deinit { natsSubscription_Destroy(handle) }

    /// Up to `count` messages, waiting at most `timeoutMilliseconds` for the first; empty
    /// when none came.
    public func fetch(count: Int, timeoutMilliseconds: Int64) throws(NATSError) -> [NATSMessage] {
        var list = natsMsgList()
        var code = jsErrCode(0)
        let status = natsSubscription_Fetch(&list, handle, Int32(count), timeoutMilliseconds, &code)
        if status == NATS_TIMEOUT { return [] }
        try NATSError.check(status, "fetching messages", jetStreamCode: code)
        var messages: [NATSMessage] = []
        messages.reserveCapacity(Int(list.Count))
        for index in 0..<Int(list.Count) {
            // Taken out of the list, so that destroying the list leaves them alone.
            if let message = list.Msgs[index] {
                messages.append(NATSMessage(taking: message))
                list.Msgs[index] = nil
            }
        }
        natsMsgList_Destroy(&list)
        return messages
    }
}
