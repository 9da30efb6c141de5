import JourneyCore

/// One input of events.
public struct SourceSettings: Sendable, Equatable {
    public enum Kind: Sendable, Equatable {
        /// A Unix stream socket at `path`, created with file mode `mode`.
        case unix(path: String, mode: UInt32)
        /// A TCP listener.
        case tcp(host: String, port: Int)
        /// Log files to follow; `path` may be a glob.
        case tail(path: String, startAtBeginning: Bool)
        /// An HTTP listener for the analytics SDKs' wire formats (docs/http.md).
        case http(HTTPSourceSettings)
        /// A bus of partitioned NATS JetStream streams (docs/scaling.md).
        case jetstream(JetStreamSourceSettings)
    }
    public var kind: Kind
    /// The name used to match a socket-activated descriptor (`FileDescriptorName=`) and in
    /// the `source` column; defaults to a description of the kind.
    public var name: String
    /// Gateway mode: the name of the jetstream source that this source's accepted events are
    /// published to (each to its customer's partition) instead of being processed here.
    public var forwardTo: String?

    public init(kind: Kind, name: String? = nil, forwardTo: String? = nil) {
        self.kind = kind
        self.forwardTo = forwardTo
        switch kind {
        case .unix(let path, _): self.name = name ?? "unix:\(path)"
        case .tcp(let host, let port): self.name = name ?? "tcp:\(host):\(port)"
        case .tail(let path, _): self.name = name ?? "tail:\(path)"
        case .http(let http): self.name = name ?? "http:\(http.host):\(http.port)"
        case .jetstream(let bus): self.name = name ?? "jetstream:\(bus.stream)"
        }
    }
}

/// A bus of NATS JetStream streams, one per partition: partition `p` is stream
/// `<stream>_<p>`, holding subjects `<subject>.<p>.<token>` (docs/scaling.md).
public struct JetStreamSourceSettings: Sendable, Equatable {
    /// NATS server URLs, e.g. `nats://127.0.0.1:4222`; any reachable one will do.
    public var servers: [String]
    /// The streams' name prefix.
    public var stream: String
    /// The subjects' prefix.
    public var subject: String
    /// Partitions: fixed for the life of the data.
    public var partitions: Int
    /// The partitions this daemon processes.
    public var ownedPartitions: PartitionSelection
    /// Replicas of the streams cjmd creates when they are missing.
    public var replicas: Int
    /// A shard's partition that has no message for this long, all read, moves its watermark
    /// by the wall clock (event time otherwise): abandonments still fire on quiet partitions,
    /// and a backlog gives what a replay of it gives.
    public var idleAfter: TimeSpan

    /// ``idleAfter`` unless configured.
    public static let defaultIdleAfter = TimeSpan.seconds(5)

    public init(
        servers: [String], stream: String, subject: String, partitions: Int,
        ownedPartitions: PartitionSelection = .all, replicas: Int = 1, idleAfter: TimeSpan = defaultIdleAfter
    ) {
        self.idleAfter = idleAfter
        self.servers = servers
        self.stream = stream
        self.subject = subject
        self.partitions = partitions
        self.ownedPartitions = ownedPartitions
        self.replicas = replicas
    }

    /// The stream of partition `p`.
    public func streamName(partition p: Int) -> String { "\(stream)_\(p)" }

    /// The subjects of partition `p`'s stream.
    public func subjectFilter(partition p: Int) -> String { "\(subject).\(p).>" }
}

/// Which partitions of a bus a daemon processes.
public enum PartitionSelection: Sendable, Equatable {
    case all
    /// None: a pure gateway.
    case none
    /// These partitions (sorted, distinct).
    case some([Int])

    /// The partitions selected among `count`.
    public func partitions(of count: Int) -> [Int] {
        switch self {
        case .all: Array(0..<count)
        case .none: []
        case .some(let list): list.filter { $0 < count }
        }
    }
}

/// An HTTP source: where it listens, the keys it accepts, how large a body may be.
public struct HTTPSourceSettings: Sendable, Equatable {
    public var host: String
    public var port: Int
    /// Accepted Segment / RudderStack write keys and PostHog project API keys; never empty.
    public var writeKeys: Set<String>
    /// The largest request body, compressed and, separately, decompressed.
    public var maxBodyBytes: Int

    /// 8 MiB: Segment's own limit for a batch is 500 KB, PostHog's 20 MB; large enough
    /// for any SDK's batch, small enough that a few concurrent bodies cost little memory.
    public static let defaultMaxBodyBytes = 8 << 20

    public init(host: String, port: Int, writeKeys: Set<String>, maxBodyBytes: Int = Self.defaultMaxBodyBytes) {
        self.host = host
        self.port = port
        self.writeKeys = writeKeys
        self.maxBodyBytes = maxBodyBytes
    }
}
