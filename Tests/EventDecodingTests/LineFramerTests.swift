import EventDecoding
import JourneyCore
import Testing

/// A framed line copied out of the framer's borrowed buffer, for comparisons.
struct Framed: Equatable, CustomStringConvertible {
    var bytes: [UInt8]
    var tooLongLength: Int64?  // nil for a normal line
    var endOffset: Int64

    var description: String {
        let text = String(decoding: bytes.prefix(20), as: UTF8.self)
        return tooLongLength.map { "tooLong(\(text)…, \($0)) @\(endOffset)" } ?? "line(\(text)) @\(endOffset)"
    }
}

func collect(_ frame: FramedLine, _ endOffset: Int64, into out: inout [Framed]) {
    switch frame {
    case .line(let bytes): out.append(Framed(bytes: Array(bytes), tooLongLength: nil, endOffset: endOffset))
    case .tooLong(let prefix, let length):
        out.append(Framed(bytes: Array(prefix), tooLongLength: length, endOffset: endOffset))
    }
}

/// Frames `input` cut into the given chunk sizes; `finish` at the end when asked.
func frame(_ input: [UInt8], chunks sizes: [Int], maxLineBytes: Int, finish: Bool = true, startOffset: Int64 = 0)
    -> [Framed]
{
    var framer = LineFramer(maxLineBytes: maxLineBytes, startOffset: startOffset)
    var out: [Framed] = []
    var position = 0
    for size in sizes where position < input.count {
        let end = min(input.count, position + size)
        framer.append(Array(input[position..<end])) { collect($0, $1, into: &out) }
        position = end
    }
    if position < input.count {
        framer.append(Array(input[position...])) { collect($0, $1, into: &out) }
    }
    if finish { framer.finish { collect($0, $1, into: &out) } }
    return out
}

/// The expected framing, computed the plain way: split on `\n`, drop one trailing `\r`.
func referenceFrames(_ input: [UInt8], maxLineBytes: Int, finish: Bool = true) -> [Framed] {
    var out: [Framed] = []
    var start = 0
    func emit(_ raw: ArraySlice<UInt8>, end: Int) {
        var line = Array(raw)
        if line.last == UInt8(ascii: "\r") { line.removeLast() }
        if line.count > maxLineBytes {
            out.append(
                Framed(bytes: Array(line.prefix(maxLineBytes)), tooLongLength: Int64(line.count), endOffset: Int64(end))
            )
        } else {
            out.append(Framed(bytes: line, tooLongLength: nil, endOffset: Int64(end)))
        }
    }
    for (index, byte) in input.enumerated() where byte == UInt8(ascii: "\n") {
        emit(input[start..<index], end: index + 1)
        start = index + 1
    }
    if finish && start < input.count { emit(input[start...], end: input.count) }
    return out
}

@Suite("LineFramer")
struct LineFramerTests {
    @Test("splits on \\n, strips one \\r before it, and reports the offset past each line")
    func basicFraming() {
        let input = Array("a\nbb\r\n\nccc\n".utf8)
        let frames = frame(input, chunks: [input.count], maxLineBytes: 100)
        #expect(frames.map { String(decoding: $0.bytes, as: UTF8.self) } == ["a", "bb", "", "ccc"])
        #expect(frames.map(\.endOffset) == [2, 6, 7, 11])
        #expect(frames.allSatisfy { $0.tooLongLength == nil })
    }

    @Test("a \\r inside a line, or more than one before \\n, is kept")
    func carriageReturnsInside() {
        let frames = frame(Array("a\rb\n\r\r\nx\r\r\n".utf8), chunks: [100], maxLineBytes: 100)
        #expect(frames.map(\.bytes) == [Array("a\rb".utf8), Array("\r".utf8), Array("x\r".utf8)])
    }

    @Test("an unfinished last line waits for its newline; finish() hands it out")
    func partialLastLine() {
        var framer = LineFramer(maxLineBytes: 100)
        var out: [Framed] = []
        framer.append(Array("one\ntw".utf8)) { collect($0, $1, into: &out) }
        #expect(out.map(\.bytes) == [Array("one".utf8)])
        #expect(framer.committedOffset == 4)
        #expect(framer.offset == 6)
        #expect(framer.pendingByteCount == 2)
        framer.append(Array("o".utf8)) { collect($0, $1, into: &out) }
        #expect(out.count == 1, "no newline yet, so no new line")
        framer.finish { collect($0, $1, into: &out) }
        #expect(out.map(\.bytes) == [Array("one".utf8), Array("two".utf8)])
        #expect(out.last?.endOffset == 7)
        #expect(framer.committedOffset == 7)
        #expect(framer.pendingByteCount == 0)
    }

    @Test("finish() after a complete last line, or twice, hands out nothing")
    func finishWithNothingPending() {
        var framer = LineFramer(maxLineBytes: 100)
        var out: [Framed] = []
        framer.append(Array("x\r\n".utf8)) { collect($0, $1, into: &out) }
        framer.finish { collect($0, $1, into: &out) }
        framer.finish { collect($0, $1, into: &out) }
        #expect(out.count == 1)
        #expect(out.first?.bytes == [UInt8(ascii: "x")])
    }

    @Test("a final line ending in \\r without \\n has the \\r stripped")
    func finalCarriageReturn() {
        let frames = frame(Array("a\nb\r".utf8), chunks: [1, 1, 1, 1], maxLineBytes: 10)
        #expect(frames.map(\.bytes) == [[UInt8(ascii: "a")], [UInt8(ascii: "b")]])
        #expect(frames.last?.endOffset == 4)
    }

    @Test("offsets continue from the start offset (a tail checkpoint)")
    func startOffset() {
        let frames = frame(Array("ab\ncd\n".utf8), chunks: [4], maxLineBytes: 10, startOffset: 1000)
        #expect(frames.map(\.endOffset) == [1003, 1006])
    }

    @Test("a line of exactly maxLineBytes is a line, one byte more is too long, with and without \\r\\n")
    func lengthBoundary() {
        let max = 8
        let exact = Array(repeating: UInt8(ascii: "x"), count: max)
        let over = exact + [UInt8(ascii: "y")]
        for ending in [Array("\n".utf8), Array("\r\n".utf8)] {
            let input = exact + ending + over + ending
            // Every way of cutting the input in two must give the same answer, in particular
            // a cut between the \r and the \n of a line that is exactly max bytes long.
            for cut in 0...input.count {
                let frames = frame(input, chunks: [cut, input.count], maxLineBytes: max)
                #expect(frames.count == 2)
                #expect(frames.first == Framed(bytes: exact, tooLongLength: nil, endOffset: Int64(max + ending.count)))
                #expect(
                    frames.last == Framed(bytes: exact, tooLongLength: Int64(max + 1), endOffset: Int64(input.count)))
            }
        }
    }

    @Test("chunk boundaries at every position give the reference framing")
    func everySplitPosition() {
        let input = Array("{\"a\":1}\r\n\n  \nshort\nthis line is much too long for eight\r\nx\r\n\r\nlast".utf8)
        let expected = referenceFrames(input, maxLineBytes: 8)
        for cut in 0...input.count {
            #expect(frame(input, chunks: [cut, input.count], maxLineBytes: 8) == expected, "cut at \(cut)")
        }
        #expect(frame(input, chunks: Array(repeating: 1, count: input.count), maxLineBytes: 8) == expected)
    }

    @Test("random inputs in random chunks give the reference framing (seeded)")
    func randomizedChunks() {
        var rng = SeededGenerator(seed: 0xF4A3E)
        let alphabet = Array("ab{}\":,\r\n\n\n".utf8)
        for round in 0..<300 {
            let length = Int.random(in: 0...200, using: &rng)
            let input = (0..<length).map { _ in alphabet.randomElement(using: &rng) ?? 0 }
            let maxLineBytes = Int.random(in: 1...24, using: &rng)
            var chunks: [Int] = []
            var total = 0
            while total < length {
                let size = Int.random(in: 1...40, using: &rng)
                chunks.append(size)
                total += size
            }
            let finish = Bool.random(using: &rng)
            #expect(
                frame(input, chunks: chunks, maxLineBytes: maxLineBytes, finish: finish)
                    == referenceFrames(input, maxLineBytes: maxLineBytes, finish: finish),
                "round \(round)")
        }
    }

    @Test("a 10 MB line costs no more than maxLineBytes of buffer, and the next line is intact")
    func hugeLineMemoryIsBounded() {
        let max = 1024
        let huge = [UInt8](repeating: UInt8(ascii: "z"), count: 10 * 1024 * 1024)
        var framer = LineFramer(maxLineBytes: max)
        var out: [Framed] = []
        var largestCapacity = 0
        framer.append(Array("first\n".utf8)) { collect($0, $1, into: &out) }
        // Start the huge line mid-chunk so that the framer has to buffer it.
        framer.append(Array("zz".utf8)) { collect($0, $1, into: &out) }
        huge.withUnsafeBytes { all in
            var position = 2
            while position < all.count {
                let end = min(all.count, position + 65_536)
                framer.append(UnsafeRawBufferPointer(rebasing: all[position..<end])) { collect($0, $1, into: &out) }
                largestCapacity = Swift.max(largestCapacity, framer.bufferCapacity)
                position = end
            }
        }
        framer.append(Array("\r\nnext\n".utf8)) { collect($0, $1, into: &out) }
        largestCapacity = Swift.max(largestCapacity, framer.bufferCapacity)

        #expect(largestCapacity <= 2 * max + 64, "buffer grew to \(largestCapacity) bytes")
        #expect(out.count == 3)
        #expect(out[1].tooLongLength == Int64(huge.count))
        #expect(out[1].bytes == Array(huge.prefix(max)))
        #expect(out[1].endOffset == Int64(6 + huge.count + 2))
        #expect(
            out[2] == Framed(bytes: Array("next".utf8), tooLongLength: nil, endOffset: Int64(6 + huge.count + 2 + 5)))
    }

    @Test("a huge line inside one chunk is not copied at all")
    func hugeLineInOneChunk() {
        var input = [UInt8](repeating: UInt8(ascii: "q"), count: 3 * 1024 * 1024)
        input += Array("\nok\n".utf8)
        var framer = LineFramer(maxLineBytes: 100)
        var out: [Framed] = []
        framer.append(input) { collect($0, $1, into: &out) }
        #expect(framer.bufferCapacity == 0)
        #expect(out.map(\.tooLongLength) == [Int64(3 * 1024 * 1024), nil])
        #expect(out.first?.bytes.count == 100)
    }

    @Test("a too-long last line without a newline is reported by finish()")
    func tooLongAtEndOfInput() {
        let frames = frame(Array("0123456789abc".utf8), chunks: [5, 5, 5], maxLineBytes: 4)
        #expect(frames == [Framed(bytes: Array("0123".utf8), tooLongLength: 13, endOffset: 13)])
    }

    @Test("a too-long line becomes a line_too_long rejection naming the length and the limit")
    func tooLongRejection() {
        let rejection = Rejection.lineTooLong(length: 70_000, maxLineBytes: 65_536)
        #expect(rejection.reason == .lineTooLong)
        #expect(rejection.reason.rawValue == "line_too_long")
        #expect(rejection.detail.contains("70000"))
        #expect(rejection.detail.contains("65536"))
    }

    @Test("framer and decoder together: every line gets its verdict and offset")
    func framerWithDecoder() {
        var settings = IngestSettings()
        settings.maxLineBytes = 120
        let decoder = EventDecoder(settings: settings)
        let long = lineWith(#""properties":{"pad":""# + String(repeating: "p", count: 200) + #""}"#)
        let text = minimalLine + "\r\n" + "\n" + long + "\n" + "[1]\n" + minimalLine
        var framer = LineFramer(maxLineBytes: settings.maxLineBytes)
        var verdicts: [String] = []
        var offsets: [Int64] = []
        let handle = { (frame: FramedLine, offset: Int64) in
            offsets.append(offset)
            switch frame {
            case .tooLong(_, let length):
                verdicts.append(
                    Rejection.lineTooLong(length: length, maxLineBytes: settings.maxLineBytes).reason.rawValue)
            case .line(let bytes):
                switch decoder.decode(bytes, now: testNow) {
                case .event: verdicts.append("event")
                case .blank: verdicts.append("blank")
                case .rejected(let rejection): verdicts.append(rejection.reason.rawValue)
                }
            }
        }
        framer.append(Array(text.utf8), forEachLine: handle)
        framer.finish(handle)
        #expect(verdicts == ["event", "blank", "line_too_long", "not_an_object", "event"])
        let first = Int64(minimalLine.utf8.count + 2)
        #expect(
            offsets == [
                first, first + 1, first + 2 + Int64(long.utf8.count), first + 6 + Int64(long.utf8.count),
                Int64(text.utf8.count),
            ])
    }
}
