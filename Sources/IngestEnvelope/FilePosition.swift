/// A file's identity on this machine: its device and inode numbers.
///
/// An inode number is only unique while the file exists (or is held open), so a stored identity
/// is always checked together with a ``FilePosition/fingerprint`` of the file's first bytes.
public struct FileIdentity: Hashable, Sendable, CustomStringConvertible {
    /// `st_dev` of the file system holding the file.
    public var device: UInt64
    /// `st_ino` of the file on that file system.
    public var inode: UInt64

    /// Creates an identity from `stat(2)` numbers.
    public init(device: UInt64, inode: UInt64) {
        self.device = device
        self.inode = inode
    }

    /// `device:inode`, as in log messages.
    public var description: String { "\(device):\(inode)" }
}

/// How far one file has been read: every line before ``offset`` is handed on.
///
/// Positions must be keyed by ``identity``, not by ``path``: right after a rotation two files
/// (the rotated one being drained and the new one) briefly carry the same path.
public struct FilePosition: Sendable, Equatable {
    /// Where the file was last seen. Informative, and where to look for it after a restart if
    /// it was renamed while cjmd was stopped.
    public var path: String
    /// The file's device and inode numbers.
    public var identity: FileIdentity
    /// `N:hex`: N is how many leading bytes of the file were hashed (at most 1024) and hex the
    /// first 16 bytes of their SHA-256. A file matches only if its first N bytes still hash to it.
    public var fingerprint: String
    /// The byte offset just past the last complete line handed out: where reading resumes.
    public var offset: Int64

    /// Creates a position, e.g. from a stored row.
    public init(path: String, identity: FileIdentity, fingerprint: String, offset: Int64) {
        self.path = path
        self.identity = identity
        self.fingerprint = fingerprint
        self.offset = offset
    }
}

/// A file within a source: the key of `cjm.source_checkpoints`.
public struct SourceFileKey: Hashable, Sendable {
    public var source: String
    public var identity: FileIdentity

    public init(source: String, identity: FileIdentity) {
        self.source = source
        self.identity = identity
    }
}

/// A source's position in one of its files (a tailed file, or a replayed one): written in the
/// same transaction as the lines read up to it, so a crash at any point neither loses nor
/// repeats a line.
public struct SourceCheckpoint: Sendable, Equatable {
    public var source: String
    public var file: FilePosition

    public init(source: String, file: FilePosition) {
        self.source = source
        self.file = file
    }

    public var key: SourceFileKey { SourceFileKey(source: source, identity: file.identity) }

    /// The byte offset just past the last line committed with this checkpoint.
    public var offset: Int64 {
        get { file.offset }
        set { file.offset = newValue }
    }
}
