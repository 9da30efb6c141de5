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
    }
    public var kind: Kind
    /// The name used to match a socket-activated descriptor (`FileDescriptorName=`) and in
    /// the `source` column; defaults to a description of the kind.
    public var name: String

    public init(kind: Kind, name: String? = nil) {
        self.kind = kind
        switch kind {
        case .unix(let path, _): self.name = name ?? "unix:\(path)"
        case .tcp(let host, let port): self.name = name ?? "tcp:\(host):\(port)"
        case .tail(let path, _): self.name = name ?? "tail:\(path)"
        case .http(let http): self.name = name ?? "http:\(http.host):\(http.port)"
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
