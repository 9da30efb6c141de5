import DaemonSettings
import EventDecoding
import FileTail
import Foundation
import IngestEnvelope
import JourneyCore
import JourneyStore
import Logging
import NIOConcurrencyHelpers
import PostgresClient

/// One `type: tail` source of `cjmd run` (docs/events.md, docs/reliability.md): a dedicated thread (file reads block)
/// follows the source's files with a ``FileFollower``, decodes each complete line and queues
/// it together with the file position just past it. The commit loop writes a batch's latest
/// position per file in the batch's transaction, so the offset in `cjm.source_checkpoints`
/// always covers exactly the lines that are committed: after a crash the source resumes at
/// the first line not committed, and no line is lost or stored twice.
///
/// When the commit queue is full the thread stops reading until it drains (backpressure), so
/// a database outage never makes cjmd buffer a whole log file.
final class TailSource: Sendable {
    let settings: SourceSettings
    private let pattern: String
    private let startAtBeginning: Bool
    private let ingest: IngestSettings
    private let queue: CommitQueue
    private let loadCheckpoints: @Sendable (String) throws -> [SourceCheckpoint]
    private let clock: @Sendable () -> EventTime
    private let logger: Logger
    private let stopping = NIOLockedValueBox(false)
    private let stopped = DispatchSemaphore(value: 0)
    /// Ticket of the last item this source submitted.
    private let lastTicket = NIOLockedValueBox<Int64>(0)

    /// - Parameter loadCheckpoints: reads the source's stored checkpoints (retried until it works).
    init(
        settings: SourceSettings, ingest: IngestSettings, queue: CommitQueue,
        loadCheckpoints: @escaping @Sendable (String) throws -> [SourceCheckpoint],
        clock: @escaping @Sendable () -> EventTime, logger: Logger
    ) {
        guard case .tail(let path, let startAtBeginning) = settings.kind else {
            preconditionFailure("TailSource needs a tail source")
        }
        self.settings = settings
        self.pattern = path
        self.startAtBeginning = startAtBeginning
        self.ingest = ingest
        self.queue = queue
        self.loadCheckpoints = loadCheckpoints
        self.clock = clock
        var logger = logger
        logger[metadataKey: "source"] = "\(settings.name)"
        self.logger = logger
    }

    /// Starts following on a new thread.
    func start() {
        let thread = Thread { [self] in
            follow()
            stopped.signal()
        }
        thread.name = "cjmd-tail"
        thread.start()
    }

    /// Stops reading and waits until the thread has submitted its last item; returns that
    /// item's ticket (wait for it to be committed before reading the same files again).
    func stop() -> Int64 {
        stopping.withLockedValue { $0 = true }
        stopped.wait()
        return lastTicket.withLockedValue { $0 }
    }

    private var isStopping: Bool { stopping.withLockedValue { $0 } }

    // MARK: The thread

    private func follow() {
        guard let checkpoints = waitForCheckpoints() else { return }
        let follower = FileFollower(
            pattern: pattern, startAtBeginning: startAtBeginning,
            checkpoints: checkpoints.map(\.file),
            maxLineBytes: ingest.maxLineBytes, logger: logger,
            // Writers reopen their log some time after a rename (a buffered flush, a slow
            // postrotate reload): keep reading the renamed file that long.
            drainGraceSeconds: 30)
        defer { follower.close() }
        logger.info(
            "following files",
            metadata: [
                "pattern": "\(pattern)", "checkpoints": "\(checkpoints.count)",
                "change_detection": "\(follower.usesInotify ? "inotify" : "polling")",
            ])
        let decoder = RecordDecoder(source: settings.name, settings: ingest, keepsLines: settings.forwardTo != nil)
        var failing = false
        while !isStopping {
            if queue.depth >= queue.capacity {
                waitForRoom()
                continue
            }
            let poll: TailPoll
            do {
                poll = try follower.poll()
                if failing {
                    logger.notice("files readable again")
                    failing = false
                }
            } catch {
                if !failing {
                    logger.error("cannot read the files of this source; retrying", metadata: ["error": "\(error)"])
                    failing = true
                }
                follower.waitForChanges(timeoutSeconds: 1)
                continue
            }
            let items = self.items(for: poll, decoder: decoder)
            if items.isEmpty {
                follower.waitForChanges(timeoutSeconds: 0.5)
                continue
            }
            let ticket = queue.submit(items).lastTicket
            lastTicket.withLockedValue { $0 = ticket }
        }
    }

    /// Decodes the lines of one poll into queue items, each with the position past its line.
    private func items(for poll: TailPoll, decoder: RecordDecoder) -> [PipelineItem] {
        var items: [PipelineItem] = []
        let now = clock()
        for read in poll.reads {
            var position = SourceCheckpoint(source: settings.name, file: read.file)
            if read.lines.isEmpty {
                items.append(.filePosition(position))
                continue
            }
            for line in read.lines {
                position.offset = line.endOffset
                let record =
                    if let length = line.overLongLength {
                        decoder.overLong(prefix: line.bytes, length: length, receivedAt: now)
                    } else {
                        line.bytes.withUnsafeBytes { decoder.decode($0, receivedAt: now) }
                    }
                if let item = PipelineItem(record, position: position) { items.append(item) }
            }
            // The read's own position may lie past the last line (e.g. skipped bytes).
            if read.file.offset > position.offset {
                position.offset = read.file.offset
                items.append(.filePosition(position))
            }
        }
        for identity in poll.forgotten {
            items.append(.forgetFile(SourceFileKey(source: settings.name, identity: identity)))
        }
        return items
    }

    /// Reads the stored checkpoints, retrying while the database is unavailable; nil when
    /// stopped meanwhile.
    private func waitForCheckpoints() -> [SourceCheckpoint]? {
        var delay = 0.25
        var reported = false
        while !isStopping {
            do {
                return try loadCheckpoints(settings.name)
            } catch {
                if !reported {
                    logger.error(
                        "cannot read this source's checkpoints; retrying before reading any file",
                        metadata: ["error": "\(error)"])
                    reported = true
                }
                Thread.sleep(forTimeInterval: delay)
                delay = min(delay * 2, 5)
            }
        }
        return nil
    }

    private func waitForRoom() {
        let room = DispatchSemaphore(value: 0)
        queue.whenRoom { room.signal() }
        while !isStopping, room.wait(timeout: .now() + 0.5) == .timedOut {}
    }
}
