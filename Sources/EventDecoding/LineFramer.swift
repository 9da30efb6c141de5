#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// One line cut out of a byte stream by ``LineFramer``.
///
/// The buffers are borrowed: they are valid only inside the closure that receives them.
/// Copy what must outlive the call.
public enum FramedLine {
    /// A complete line, without its `\n` and without one `\r` just before it.
    case line(UnsafeRawBufferPointer)
    /// A line longer than `maxLineBytes`. `prefix` is its first `maxLineBytes` bytes (the raw
    /// bytes to dead-letter); `length` is the full length, line ending excluded. The rest of
    /// the line was skipped without being buffered.
    case tooLong(prefix: UnsafeRawBufferPointer, length: Int64)
}

/// Cuts a byte stream into NDJSON lines with bounded memory (docs/events.md).
///
/// Feed it chunks as they are read; it calls back once per complete line with the stream
/// offset just past that line's `\n`, which is what a tail source commits as its checkpoint.
///
/// - Lines that lie entirely inside one chunk are handed out as slices of that chunk: no copy.
///   Only a line that spans chunks is gathered in an internal buffer.
/// - The internal buffer never holds more than `maxLineBytes` bytes: of a longer line only the
///   first `maxLineBytes` bytes are kept and the rest is counted and dropped, so a 1 GB line
///   costs no more memory than a short one.
/// - An unfinished last line stays pending until its `\n` arrives. At the end of input the
///   caller decides: ``finish(_:)`` hands it out as a line (replay files), while a tail source
///   just keeps waiting and commits ``committedOffset``.
///
/// If the closure throws, the rest of that chunk is not framed: discard the framer.
public struct LineFramer: Sendable {
    /// Lines longer than this (line ending excluded) are reported as ``FramedLine/tooLong(prefix:length:)``.
    public let maxLineBytes: Int

    /// The unfinished line's first bytes, at most `maxLineBytes` of them.
    private var pending: [UInt8] = []
    /// The unfinished line's full length so far, including bytes dropped beyond `pending`.
    private var pendingLength: Int64 = 0
    /// Whether the last byte appended to the unfinished line was `\r`, which `pending` cannot
    /// tell once bytes are being dropped.
    private var pendingEndsWithCR = false

    /// The stream offset just past the last byte appended.
    public private(set) var offset: Int64
    /// The stream offset just past the last framed line: a safe checkpoint for a tail source.
    public private(set) var committedOffset: Int64

    /// Creates a framer.
    /// - Parameters:
    ///   - maxLineBytes: The longest line accepted, in bytes, line ending excluded (≥ 1).
    ///   - startOffset: The stream offset of the first byte that will be appended, e.g. a
    ///     tail source's checkpoint, so reported offsets are offsets in the file.
    public init(maxLineBytes: Int, startOffset: Int64 = 0) {
        precondition(maxLineBytes >= 1, "maxLineBytes must be at least 1")
        self.maxLineBytes = maxLineBytes
        self.offset = startOffset
        self.committedOffset = startOffset
    }

    /// Bytes of an unfinished line received since the last framed line (including bytes
    /// that were dropped because the line is too long).
    public var pendingByteCount: Int64 { pendingLength }

    /// The capacity of the internal buffer in bytes; stays within about `2 × maxLineBytes`
    /// whatever the input. Exposed so tests and metrics can watch memory.
    public var bufferCapacity: Int { pending.capacity }

    /// Appends a chunk and calls `body` for every line it completes, in order, with the stream
    /// offset just past the line's `\n`.
    public mutating func append(
        _ chunk: UnsafeRawBufferPointer,
        forEachLine body: (FramedLine, _ endOffset: Int64) throws -> Void
    ) rethrows {
        guard let base = chunk.baseAddress, chunk.count > 0 else { return }
        let count = chunk.count
        let chunkStart = offset
        offset += Int64(count)
        var position = 0

        if pendingLength > 0 {
            guard let newline = Self.indexOfNewline(base, from: 0, to: count) else {
                absorb(UnsafeRawBufferPointer(start: base, count: count))
                return
            }
            absorb(UnsafeRawBufferPointer(start: base, count: newline))
            position = newline + 1
            committedOffset = chunkStart + Int64(position)
            try emitPending(endOffset: committedOffset, body)
        }

        while position < count {
            guard let newline = Self.indexOfNewline(base, from: position, to: count) else {
                absorb(UnsafeRawBufferPointer(start: base + position, count: count - position))
                return
            }
            let line = UnsafeRawBufferPointer(start: base + position, count: newline - position)
            position = newline + 1
            committedOffset = chunkStart + Int64(position)
            try body(frame(line), committedOffset)
        }
    }

    /// Appends a chunk given as bytes; see ``append(_:forEachLine:)-(UnsafeRawBufferPointer,_)``.
    public mutating func append(
        _ chunk: [UInt8],
        forEachLine body: (FramedLine, _ endOffset: Int64) throws -> Void
    ) rethrows {
        try chunk.withUnsafeBytes { try append($0, forEachLine: body) }
    }

    /// Ends the input: hands out the unfinished last line, if any, as a line (a file's last
    /// line without `\n` is still a line), with the end of the stream as its offset.
    public mutating func finish(_ body: (FramedLine, _ endOffset: Int64) throws -> Void) rethrows {
        guard pendingLength > 0 else { return }
        committedOffset = offset
        try emitPending(endOffset: offset, body)
    }

    /// Keeps as much of a partial line as a verdict needs, and counts the rest. A `\r` that
    /// would end a line of exactly `maxLineBytes` is remembered by `pendingEndsWithCR`.
    private mutating func absorb(_ bytes: UnsafeRawBufferPointer) {
        guard !bytes.isEmpty else { return }
        let room = maxLineBytes - pending.count
        if room > 0 {
            pending.append(contentsOf: UnsafeRawBufferPointer(rebasing: bytes.prefix(room)))
        }
        pendingLength += Int64(bytes.count)
        pendingEndsWithCR = bytes[bytes.count - 1] == UInt8(ascii: "\r")
    }

    private mutating func emitPending(endOffset: Int64, _ body: (FramedLine, Int64) throws -> Void) rethrows {
        let length = pendingLength - (pendingEndsWithCR ? 1 : 0)
        defer {
            pending.removeAll(keepingCapacity: true)
            pendingLength = 0
            pendingEndsWithCR = false
        }
        try pending.withUnsafeBytes { kept in
            if length > Int64(maxLineBytes) {
                try body(
                    .tooLong(prefix: UnsafeRawBufferPointer(rebasing: kept.prefix(maxLineBytes)), length: length),
                    endOffset)
            } else {
                try body(.line(UnsafeRawBufferPointer(rebasing: kept.prefix(Int(length)))), endOffset)
            }
        }
    }

    /// Classifies a whole line found inside one chunk.
    private func frame(_ raw: UnsafeRawBufferPointer) -> FramedLine {
        var line = raw
        if let last = line.last, last == UInt8(ascii: "\r") {
            line = UnsafeRawBufferPointer(rebasing: line.dropLast())
        }
        if line.count > maxLineBytes {
            return .tooLong(
                prefix: UnsafeRawBufferPointer(rebasing: line.prefix(maxLineBytes)), length: Int64(line.count))
        }
        return .line(line)
    }

    @inline(__always)
    private static func indexOfNewline(_ base: UnsafeRawPointer, from start: Int, to end: Int) -> Int? {
        guard start < end, let found = memchr(base + start, Int32(UInt8(ascii: "\n")), end - start) else { return nil }
        return UnsafeRawPointer(found) - base
    }
}
