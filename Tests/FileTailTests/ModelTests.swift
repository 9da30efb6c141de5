import FileTail
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// Random sequences of what writers and logrotate do to a log file, checked against a model of
/// what must come out: every complete line exactly once, in order per file content, except
/// the lines the documented loss windows take (see ``ModelRun``).
@Suite("Model-based random sequences")
struct ModelTests {
    @Test(
        "every complete line is handed out once, in order, except in the documented loss windows",
        arguments: [false, true], 0..<24)
    func randomSequence(globMatchesRotatedNames: Bool, seed: Int) throws {
        let run = try ModelRun(
            seed: UInt64(seed) &* 0x9E37_79B9 &+ (globMatchesRotatedNames ? 1 : 0),
            globMatchesRotatedNames: globMatchesRotatedNames)
        try run.play(steps: 80)
        try run.finishAndVerify()
    }
}

/// One content generation of a file: created at the path, or what a truncation left behind.
private final class Generation {
    let id: Int
    /// Complete lines in write order.
    var lines: [String] = []
    /// Lines that can never be handed out: truncated away, or in a file that left the
    /// pattern (or was deleted) before the follower ever had it open.
    var lost: Set<String> = []
    /// The line being written without its newline yet, and how many bytes of it are written.
    var partial: String?
    var partialWritten = 0
    /// A partial line whose writer moved on: expected as the file's last line when drained.
    var abandonedPrefix: String?
    var nextSequence = 0

    init(id: Int) { self.id = id }

    /// Which generation a handed-out line belongs to: lines read "g<id>-<seq>:<padding>".
    static func id(of line: String) -> Int? {
        guard line.hasPrefix("g"), let dash = line.firstIndex(of: "-") else { return nil }
        return Int(line[line.index(after: line.startIndex)..<dash])
    }

    var expected: [String] {
        lines.filter { !lost.contains($0) } + (abandonedPrefix.map { [$0] } ?? [])
    }
}

/// Drives one random sequence. The model of the loss windows:
/// - truncation and copytruncate lose the lines written since the last poll (and a partial line);
/// - with a pattern that does not match rotated names, a file rotated away (or deleted) before
///   any poll saw it is never read; a file deleted while cjmd is stopped loses its unread lines.
private final class ModelRun {
    let directory: TemporaryDirectory
    let path: String
    let pattern: String
    let globMatchesRotatedNames: Bool
    var random: SplitMix64
    let readBudget: Int

    var generations: [Generation] = []
    var current: Generation
    var writer: LogWriter
    /// Files linked in the directory that the pattern may match, by name.
    var linked: [String: Generation] = [:]
    /// Generations the current follower has open (so it drains them whatever happens to the name).
    var opened: Set<Int> = []
    var follower: FileFollower
    var collected = Collected()
    var rotations = 0
    var copies = 0
    var log: [String] = []

    init(seed: UInt64, globMatchesRotatedNames: Bool) throws {
        directory = try TemporaryDirectory()
        path = directory.file("events.ndjson")
        self.globMatchesRotatedNames = globMatchesRotatedNames
        pattern = globMatchesRotatedNames ? directory.file("events.ndjson*") : path
        random = SplitMix64(seed: seed)
        readBudget = [200, 4096, 1 << 20][random.below(3)]
        let first = Generation(id: 0)
        generations = [first]
        current = first
        writer = try LogWriter(path)
        linked["events.ndjson"] = first
        follower = FileFollower(
            pattern: pattern, startAtBeginning: true, checkpoints: [], maxLineBytes: 4096,
            logger: quietLogger, readBudgetBytes: readBudget, drainGraceSeconds: 0)
    }

    func play(steps: Int) throws {
        for _ in 0..<steps {
            let roll = random.below(100)
            switch roll {
            case 0..<30: appendLines()
            case 30..<42: appendPartial()
            case 42..<52: completePartial()
            case 52..<62: try rotate()
            case 62..<68: try copyTruncate(copy: true)
            case 68..<72: try copyTruncate(copy: false)
            case 72..<79: try delete()
            case 79..<85: try deleteOldestRotated()
            case 85..<91: try restart()
            default: break
            }
            if random.below(100) < 70 { try poll() }
        }
    }

    /// Deletes every file, drains, and compares what came out with the model.
    func finishAndVerify() throws {
        abandonPartial(current)
        writer.close()
        for (name, generation) in linked.sorted(by: { $0.key < $1.key }) {
            try removeFile(directory.file(name))
            if !opened.contains(generation.id) { loseUnhanded(generation) }
        }
        linked = [:]
        try poll()
        let context = "seed log: \(log.joined(separator: " "))"
        var seen = Set<String>()
        for line in collected.lines {
            #expect(seen.insert(line).inserted, "handed out twice: \(line); \(context)")
        }
        var actual: [Int: [String]] = [:]
        for line in collected.lines {
            guard let id = Generation.id(of: line) else {
                Issue.record("unknown line \(line)")
                continue
            }
            actual[id, default: []].append(line)
        }
        for generation in generations {
            #expect(
                actual[generation.id, default: []] == generation.expected, "generation \(generation.id); \(context)")
        }
        #expect(collected.lines.count > 0)
        #expect(follower.openFileCount == 0)
        #expect(collected.checkpoints.isEmpty, "every file was deleted, drained and forgotten")
        follower.close()
        #expect(openDescriptors(in: directory.path) == 0)
    }

    // MARK: Steps

    private func appendLines() {
        log.append("append")
        if current.partial != nil { finishPartial(current, writer) }
        for _ in 0...random.below(4) { writeLine(current, writer) }
    }

    private func appendPartial() {
        log.append("partial")
        let generation = current
        if generation.partial == nil {
            generation.partial = newLineText(generation)
            generation.partialWritten = 0
        }
        guard let text = generation.partial else { return }
        let bytes = Array(text.utf8)
        // Never cut before the "g<id>-<seq>:" tag, never write the whole line.
        let tagEnd = (bytes.firstIndex(of: UInt8(ascii: ":")) ?? 0) + 1
        let from = max(generation.partialWritten, tagEnd)
        guard from < bytes.count else { return }
        let to = from + random.below(bytes.count - from)
        writer.write(Array(bytes[generation.partialWritten..<max(to, from)]))
        generation.partialWritten = max(to, from)
    }

    private func completePartial() {
        log.append("complete")
        if current.partial != nil { finishPartial(current, writer) }
    }

    /// Rename rotation: the writer keeps writing to the old file for a moment, then reopens.
    private func rotate() throws {
        rotations += 1
        log.append("rotate")
        let rotatedName = "events.ndjson.\(rotations)"
        try renameFile(path, directory.file(rotatedName))
        let old = current
        linked["events.ndjson"] = nil
        linked[rotatedName] = old
        for _ in 0..<random.below(3) {
            if old.partial != nil { finishPartial(old, writer) }
            writeLine(old, writer)
        }
        abandonPartial(old)
        if !globMatchesRotatedNames && !opened.contains(old.id) { loseUnhanded(old) }
        try startNewFile()
    }

    /// copytruncate (copy: true) or a plain truncation; the writer goes on with O_APPEND.
    private func copyTruncate(copy: Bool) throws {
        log.append(copy ? "copytruncate" : "truncate")
        if copy {
            copies += 1
            try copyFile(path, to: directory.file("copy-\(copies)"))
        }
        try truncateFile(path)
        loseUnhanded(current)
        let next = Generation(id: generations.count)
        generations.append(next)
        if opened.contains(current.id) { opened.insert(next.id) }
        current = next
        linked["events.ndjson"] = next
    }

    /// The file is deleted; the writer writes a little more to it, then creates a new one.
    private func delete() throws {
        log.append("delete")
        try removeFile(path)
        linked["events.ndjson"] = nil
        let old = current
        for _ in 0..<random.below(3) { writeLine(old, writer) }
        abandonPartial(old)
        if !opened.contains(old.id) { loseUnhanded(old) }
        try startNewFile()
    }

    /// logrotate removes the oldest rotated file.
    private func deleteOldestRotated() throws {
        guard
            let oldest = linked.keys.filter({ $0 != "events.ndjson" }).min(by: {
                rotationNumber($0) < rotationNumber($1)
            }),
            let generation = linked[oldest]
        else { return }
        log.append("delete-rotated")
        try removeFile(directory.file(oldest))
        linked[oldest] = nil
        if !opened.contains(generation.id) { loseUnhanded(generation) }
    }

    /// cjmd stops and starts again with the checkpoints it stored.
    private func restart() throws {
        log.append("restart")
        follower.close()
        let stillLinked = Set(linked.values.map(\.id))
        for generation in generations where opened.contains(generation.id) && !stillLinked.contains(generation.id) {
            // Deleted while nobody had it open: its unread lines are gone.
            loseUnhanded(generation)
        }
        opened.formIntersection(stillLinked)
        follower = FileFollower(
            pattern: pattern, startAtBeginning: true, checkpoints: Array(collected.checkpoints.values),
            maxLineBytes: 4096, logger: quietLogger, readBudgetBytes: readBudget, drainGraceSeconds: 0)
        try poll()
    }

    // MARK: Helpers

    private func poll() throws {
        try collected.pollUntilQuiet(follower)
        // The follower has every file at a matching path open now.
        for (name, generation) in linked where name == "events.ndjson" || globMatchesRotatedNames {
            opened.insert(generation.id)
        }
    }

    private func startNewFile() throws {
        writer.close()
        let next = Generation(id: generations.count)
        generations.append(next)
        current = next
        writer = try LogWriter(path)
        linked["events.ndjson"] = next
    }

    private func newLineText(_ generation: Generation) -> String {
        defer { generation.nextSequence += 1 }
        let padding = String(
            (0..<(2 + random.below(60))).map { _ in Character(UnicodeScalar(UInt8(97 + random.below(26)))) })
        return "g\(generation.id)-\(generation.nextSequence):\(padding)"
    }

    private func writeLine(_ generation: Generation, _ writer: LogWriter) {
        if generation.partial != nil { finishPartial(generation, writer) }
        let text = newLineText(generation)
        writer.write(text + "\n")
        generation.lines.append(text)
    }

    private func finishPartial(_ generation: Generation, _ writer: LogWriter) {
        guard let text = generation.partial else { return }
        writer.write(Array(text.utf8)[generation.partialWritten...] + [UInt8(ascii: "\n")])
        generation.lines.append(text)
        generation.partial = nil
    }

    /// The writer moved on from a half-written line: it stays unfinished for good.
    private func abandonPartial(_ generation: Generation) {
        guard let text = generation.partial else { return }
        if generation.partialWritten > 0 {
            generation.abandonedPrefix = String(decoding: Array(text.utf8)[..<generation.partialWritten], as: UTF8.self)
        }
        generation.partial = nil
    }

    private func loseUnhanded(_ generation: Generation) {
        let handed = Set(collected.lines)
        for line in generation.lines where !handed.contains(line) { generation.lost.insert(line) }
        if let prefix = generation.abandonedPrefix, !handed.contains(prefix) { generation.abandonedPrefix = nil }
        generation.partial = nil
    }

    private func rotationNumber(_ name: String) -> Int {
        Int(name.split(separator: ".").last ?? "") ?? 0
    }
}

/// A small seeded generator (SplitMix64): the same seed gives the same sequence.
struct SplitMix64 {
    private var state: UInt64
    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// A number in 0..<bound (bound ≥ 1).
    mutating func below(_ bound: Int) -> Int {
        Int(next() % UInt64(max(bound, 1)))
    }
}
