/// A file's identity on this machine: its device and inode numbers.
///
/// An inode number is only unique while the file exists (or is held open), so a stored identity
/// is always checked together with a ``TailCheckpoint/fingerprint`` of the file's first bytes.
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

/// How far one file has been read: what `cjm.source_checkpoints` stores per file
/// (source, path, device, inode, fingerprint, offset).
///
/// Rows must be keyed by ``identity``, not by ``path``: right after a rotation two files (the
/// rotated one being drained and the new one) briefly carry the same path.
public struct TailCheckpoint: Sendable, Equatable {
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

    /// Creates a checkpoint, e.g. from a stored row.
    public init(path: String, identity: FileIdentity, fingerprint: String, offset: Int64) {
        self.path = path
        self.identity = identity
        self.fingerprint = fingerprint
        self.offset = offset
    }
}
