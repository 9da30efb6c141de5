import EventDecoding
import IngestEnvelope

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// One open file being followed: its descriptor, how far it was framed, and what it looked
/// like at the last poll.
final class FollowedFile {
    /// Why a file is being drained rather than followed.
    enum Detachment: Equatable {
        /// No longer at any matching path, but still linked somewhere (rotation by rename).
        case renamedAway
        /// Unlinked (`st_nlink == 0`), kept alive only by our descriptor.
        case deleted
    }

    let descriptor: Int32
    let identity: FileIdentity
    /// Where the file was last seen.
    var path: String
    /// The file's first bytes, at most ``ContentFingerprint/maximumLength`` of them.
    private(set) var head: [UInt8]
    private(set) var fingerprint: String
    /// Cuts the bytes read into lines; `offset` is the read position, `committedOffset` the
    /// checkpoint.
    var framer: LineFramer
    /// Size and times at the last check of the first bytes.
    var lastStatus: FileStatus
    /// Set when the file was noticed to be renamed away or deleted.
    var detachment: Detachment?
    /// The poll in which ``detachment`` was noticed, and when (monotonic seconds).
    var detachedAtPoll = 0
    var detachedAtTime = 0.0
    /// The checkpoint last handed out (or stored at start), so a changed one is reported.
    var lastReported: FilePosition?
    /// Whether the last read found no new byte before end of file.
    var foundNothingNew = false
    /// Lines read in the current poll, handed out at its end.
    var linesThisPoll: [TailLine] = []

    init(descriptor: Int32, path: String, status: FileStatus, head: [UInt8], startOffset: Int64, maxLineBytes: Int) {
        self.descriptor = descriptor
        self.identity = status.identity
        self.path = path
        self.head = head
        self.fingerprint = ContentFingerprint.of(head)
        self.framer = LineFramer(maxLineBytes: maxLineBytes, startOffset: startOffset)
        self.lastStatus = status
    }

    /// What a caller stores for this file now.
    var checkpoint: FilePosition {
        FilePosition(path: path, identity: identity, fingerprint: fingerprint, offset: framer.committedOffset)
    }

    /// Adopts longer first bytes of the same content, so the fingerprint covers more of it.
    func extendHead(_ longer: [UInt8]) {
        head = longer
        fingerprint = ContentFingerprint.of(longer)
    }

    /// Starts over at offset 0 of new content (after a truncation or copytruncate).
    func restart(head newHead: [UInt8]) {
        head = newHead
        fingerprint = ContentFingerprint.of(newHead)
        framer = LineFramer(maxLineBytes: framer.maxLineBytes, startOffset: 0)
    }

    /// Whether `current`, the file's first bytes now, continue the content that was followed:
    /// the bytes known before are unchanged.
    func headIsPrefix(of current: [UInt8]) -> Bool {
        current.count >= head.count && current[..<head.count].elementsEqual(head)
    }

    func closeFile() {
        closeDescriptor(descriptor)
    }
}
