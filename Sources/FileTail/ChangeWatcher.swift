import Logging

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// Wakes ``FileFollower/waitForChanges(timeoutSeconds:)`` when something happens in the
/// watched directories, with inotify(7).
///
/// Only directories are watched: a directory watch reports creations, renames, deletions and
/// writes of every file in it, including files that do not exist yet, with one watch for any
/// number of files.
final class ChangeWatcher {
    /// Events that can mean new lines or a different set of files.
    private static let eventMask: UInt32 =
        UInt32(IN_CREATE) | UInt32(IN_MODIFY) | UInt32(IN_MOVED_FROM)
        | UInt32(IN_MOVED_TO) | UInt32(IN_DELETE) | UInt32(IN_ATTRIB) | UInt32(IN_DELETE_SELF)
        | UInt32(IN_MOVE_SELF) | UInt32(IN_ONLYDIR)
    private static let bufferSize = 64 << 10
    /// `struct inotify_event` before its name: wd, mask, cookie, len.
    private static let eventHeaderSize = 16

    private var descriptor: Int32
    private var watchByDirectory: [String: Int32] = [:]
    private var directoryByWatch: [Int32: String] = [:]
    /// Directories that could not be watched, each logged once.
    private var unwatchable: Set<String> = []
    private let buffer: UnsafeMutableRawBufferPointer
    private let logger: Logger

    /// Whether every directory of the last ``watch(_:)`` has a watch.
    private(set) var coversAllDirectories = false

    init(logger: Logger) {
        self.logger = logger
        buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: Self.bufferSize, alignment: 8)
        descriptor = inotify_init1(Int32(IN_NONBLOCK | IN_CLOEXEC))
        if descriptor < 0 {
            logger.warning(
                "inotify is unavailable (\(errnoText(errno))): tail sources check their files every 0.25 s instead")
        }
    }

    deinit {
        close()
        buffer.deallocate()
    }

    /// Whether an inotify instance exists.
    var isAvailable: Bool { descriptor >= 0 }

    /// Makes the watched set exactly `directories`: adds missing watches (a directory that
    /// did not exist at the last poll may exist now), removes the others.
    func watch(_ directories: [String]) {
        guard descriptor >= 0 else { return }
        var wanted = Set<String>()
        var allWatched = true
        for directory in directories {
            let name = directory.isEmpty ? "." : directory
            wanted.insert(name)
            if watchByDirectory[name] != nil { continue }
            let watch = inotify_add_watch(descriptor, name, Self.eventMask)
            if watch < 0 {
                allWatched = false
                let code = errno
                if unwatchable.insert(name).inserted, code != ENOENT {
                    let advice = code == ENOSPC ? "; raise fs.inotify.max_user_watches" : ""
                    logger.warning(
                        "cannot watch \(name) with inotify (\(errnoText(code))): its files are checked every 0.25 s instead\(advice)"
                    )
                }
                continue
            }
            unwatchable.remove(name)
            watchByDirectory[name] = watch
            directoryByWatch[watch] = name
        }
        for (name, watch) in watchByDirectory where !wanted.contains(name) {
            inotify_rm_watch(descriptor, watch)
            watchByDirectory[name] = nil
            directoryByWatch[watch] = nil
        }
        coversAllDirectories = allWatched && !wanted.isEmpty
    }

    /// Drops the events queued so far: the poll about to run sees what they announced.
    func discardPending() {
        _ = readEvents { _, _ in false }
    }

    /// Waits up to `timeout` seconds for an event about an entry that `isRelevant(directory,
    /// name)` accepts (`name` nil: about the directory itself or the queue). True if woken.
    func wait(timeout: Double, isRelevant: (String, String?) -> Bool) -> Bool {
        guard descriptor >= 0 else { return false }
        let deadline = monotonicSeconds() + timeout
        while true {
            let remaining = deadline - monotonicSeconds()
            guard remaining > 0 else { return false }
            let milliseconds = Int32(min(remaining * 1000, Double(Int32.max - 1)).rounded(.up))
            let ready = waitUntilReadable(descriptor, milliseconds: milliseconds)
            if ready < 0 {
                if errno == EINTR { continue }
                sleepSeconds(min(remaining, 0.25))
                return false
            }
            if ready > 0, readEvents(isRelevant) { return true }
        }
    }

    /// Reads every queued event; true if one of them was relevant.
    private func readEvents(_ isRelevant: (String, String?) -> Bool) -> Bool {
        guard descriptor >= 0, let base = buffer.baseAddress else { return false }
        var relevant = false
        while true {
            let count = read(descriptor, base, buffer.count)
            if count < 0 && errno == EINTR { continue }
            guard count > 0 else { return relevant }
            var offset = 0
            while offset + Self.eventHeaderSize <= count {
                let watch = buffer.loadUnaligned(fromByteOffset: offset, as: Int32.self)
                let mask = buffer.loadUnaligned(fromByteOffset: offset + 4, as: UInt32.self)
                let nameLength = Int(buffer.loadUnaligned(fromByteOffset: offset + 12, as: UInt32.self))
                let nameStart = offset + Self.eventHeaderSize
                offset = nameStart + nameLength
                if mask & UInt32(IN_Q_OVERFLOW) != 0 {
                    relevant = true
                    continue
                }
                guard let directory = directoryByWatch[watch] else { continue }
                if mask & UInt32(IN_IGNORED) != 0 {
                    // The directory is gone: the next watch(_:) adds it again if it returns.
                    watchByDirectory[directory] = nil
                    directoryByWatch[watch] = nil
                    coversAllDirectories = false
                    relevant = true
                    continue
                }
                let name =
                    nameLength > 0 && offset <= count
                    ? Self.name(in: UnsafeRawBufferPointer(rebasing: buffer[nameStart..<offset]))
                    : nil
                if isRelevant(directory, name) { relevant = true }
            }
        }
    }

    /// The NUL-padded name that follows an event header.
    private static func name(in bytes: UnsafeRawBufferPointer) -> String {
        let end = bytes.firstIndex(of: 0) ?? bytes.count
        return String(decoding: bytes[..<end], as: UTF8.self)
    }

    /// Closes the inotify instance (and with it every watch). Idempotent.
    func close() {
        guard descriptor >= 0 else { return }
        closeDescriptor(descriptor)
        descriptor = -1
        watchByDirectory = [:]
        directoryByWatch = [:]
        coversAllDirectories = false
    }
}
