import EventDecoding
import IngestEnvelope
import Logging

extension FileFollower {
    /// Files being drained first (they hold the older lines and must be closed soon), then the
    /// followed files by path, starting one further each poll so that a busy file cannot
    /// starve the others of the read budget.
    func readingOrder() -> [FollowedFile] {
        let sorted = files.values.sorted { $0.path < $1.path }
        let draining = sorted.filter { $0.detachment != nil }
        let followed = sorted.filter { $0.detachment == nil }
        guard !followed.isEmpty else { return draining }
        let first = pollCount % followed.count
        return draining + followed[first...] + followed[..<first]
    }

    /// Reads what was appended to each file, in `order`, within the read budget.
    func readAppendedBytes(_ order: [FollowedFile], _ progress: inout PollProgress) {
        var budget = readBudgetBytes
        leftUnreadBytes = false
        for file in order {
            file.foundNothingNew = false
            guard budget > 0 else {
                leftUnreadBytes = true
                continue
            }
            read(file, budget: &budget, &progress)
        }
    }

    /// Reads one file from its read position until end of file or the budget runs out.
    private func read(_ file: FollowedFile, budget: inout Int, _ progress: inout PollProgress) {
        guard let base = chunk.baseAddress else { return }
        var total = 0
        while budget > 0 {
            let wanted = min(chunk.count, budget)
            switch readBytes(file.descriptor, into: base, count: wanted, at: file.framer.offset) {
            case .failure(let error):
                noteFailure(TailError(.readFailed, path: file.path, errno: error.code), &progress)
                return
            case .success(0):
                file.foundNothingNew = total == 0
                clearProblem(file.path)
                return
            case .success(let count):
                budget -= count
                total += count
                file.framer.append(UnsafeRawBufferPointer(start: base, count: count)) { line, endOffset in
                    file.linesThisPoll.append(Self.copy(line, endOffset: endOffset))
                }
                if count < wanted {
                    clearProblem(file.path)
                    return  // End of file for now.
                }
            }
        }
        leftUnreadBytes = true
    }

    /// Closes the drained files: rotated away or deleted, noticed in an earlier poll, at least
    /// `drainGraceSeconds` ago, and with nothing new in this poll. A last line without `\n`
    /// will never be completed, so it is handed out as it is (the decoder judges it).
    func finishDrainedFiles(_ order: [FollowedFile], now: Double, _ progress: inout PollProgress) {
        for file in order
        where file.detachment != nil && file.foundNothingNew
            && file.detachedAtPoll < pollCount && now - file.detachedAtTime >= drainGraceSeconds
        {
            file.framer.finish { line, endOffset in
                file.linesThisPoll.append(Self.copy(line, endOffset: endOffset))
            }
            logger.info("finished reading \(file.path) at offset \(file.framer.committedOffset): closing it")
            progress.finished.insert(file.identity)
        }
    }

    /// Turns the lines and checkpoints of this poll into its outcome, and closes finished files.
    func assemble(_ order: [FollowedFile], _ progress: inout PollProgress) -> TailPoll {
        var reads: [TailRead] = []
        for file in order {
            let checkpoint = file.checkpoint
            if !file.linesThisPoll.isEmpty || Self.mustReport(checkpoint, after: file.lastReported) {
                reads.append(TailRead(file: checkpoint, lines: file.linesThisPoll))
                file.lastReported = checkpoint
                file.linesThisPoll = []
            }
            if progress.finished.contains(file.identity) {
                file.closeFile()
                files[file.identity] = nil
                progress.forgotten.append(file.identity)
            }
        }
        return TailPoll(reads: reads, forgotten: progress.forgotten, failures: progress.failures)
    }

    /// A checkpoint is reported when it moved, changed path, or is new; a longer fingerprint
    /// at offset 0 alone is not worth a row update (offset 0 resumes at 0 whatever it says).
    private static func mustReport(_ checkpoint: FilePosition, after last: FilePosition?) -> Bool {
        guard let last else { return true }
        guard checkpoint != last else { return false }
        return checkpoint.offset != 0 || last.offset != 0 || checkpoint.path != last.path
    }

    private static func copy(_ line: FramedLine, endOffset: Int64) -> TailLine {
        switch line {
        case .line(let bytes):
            return TailLine(bytes: Array(bytes), endOffset: endOffset)
        case .tooLong(let prefix, let length):
            return TailLine(bytes: Array(prefix), overLongLength: length, endOffset: endOffset)
        }
    }
}
