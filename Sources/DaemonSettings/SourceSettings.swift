/// One input of events.
public struct SourceSettings: Sendable, Equatable {
    public enum Kind: Sendable, Equatable {
        /// A Unix stream socket at `path`, created with file mode `mode`.
        case unix(path: String, mode: UInt32)
        /// A TCP listener.
        case tcp(host: String, port: Int)
        /// Log files to follow; `path` may be a glob.
        case tail(path: String, startAtBeginning: Bool)
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
        }
    }
}
