extension EventDecoder {
    /// Whether a line is the socket protocol's acknowledgement request `{"ack": true}`
    /// (docs/events.md): a JSON object whose one member is `ack` with the value `true`, with any JSON
    /// whitespace around the tokens (the name may be written with escapes, e.g. `"\u0061ck"`).
    /// Anything else, including `{"ack": true, "x": 1}` or `{"ack": 1}`, is not a request and
    /// is decoded as an ordinary line.
    public static func isAckRequest(_ line: UnsafeRawBufferPointer) -> Bool {
        guard let base = line.baseAddress, line.count >= 12 else { return false }
        var scanner = JSONScanner(base: base, count: line.count)
        scanner.skipWhitespace()
        guard scanner.current == UInt8(ascii: "{") else { return false }
        scanner.position += 1
        scanner.skipWhitespace()
        guard scanner.current == UInt8(ascii: "\""), let key = try? scanner.scanString() else { return false }
        let isAck = scanner.withStringBytes(key) { KeyMatcher.equals($0, "ack") }
        guard isAck else { return false }
        scanner.skipWhitespace()
        guard scanner.current == UInt8(ascii: ":") else { return false }
        scanner.position += 1
        scanner.skipWhitespace()
        guard let value = try? scanner.scanValue(depth: 2), value.kind == .true else { return false }
        scanner.skipWhitespace()
        guard scanner.current == UInt8(ascii: "}") else { return false }
        scanner.position += 1
        scanner.skipWhitespace()
        return scanner.position == scanner.count
    }

    /// Whether a line is `{"ack": true}`; see ``isAckRequest(_:)-(UnsafeRawBufferPointer)``.
    public static func isAckRequest<Bytes: Collection<UInt8>>(_ line: Bytes) -> Bool {
        if let answer = line.withContiguousStorageIfAvailable({ isAckRequest(UnsafeRawBufferPointer($0)) }) {
            return answer
        }
        return Array(line).withUnsafeBytes { isAckRequest($0) }
    }

    /// Whether a line is `{"ack": true}`; see ``isAckRequest(_:)-(UnsafeRawBufferPointer)``.
    public static func isAckRequest(_ line: String) -> Bool {
        var line = line
        return line.withUTF8 { isAckRequest(UnsafeRawBufferPointer($0)) }
    }
}
