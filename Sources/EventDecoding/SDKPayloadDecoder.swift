import JourneyCore

/// A request body that holds no events cjmd could take: answered with `400`.
public struct SDKPayloadError: Error, Sendable, Equatable, CustomStringConvertible {
    /// A sentence for the client (the `message` of the error body).
    public var message: String
    public var description: String { message }
}

/// The body of an SDK request turned into NDJSON lines, one per message, that the one decode
/// path (``EventDecoder``) reads like any other line: a bad message is dead-lettered with its
/// reason, and the rest of the batch goes on.
///
/// Each message is passed on as it was sent, with members appended where the SDK's names
/// differ from cjmd's: a later member wins (docs/events.md), so the appended ones decide.
/// Segment and RudderStack messages already use names cjmd reads (`userId`, `anonymousId`,
/// `messageId`, `timestamp`, `properties`); what is appended is the event name of calls
/// other than `track` (`page:<name>`, `identify`, …), `ts` from `originalTimestamp` or
/// corrected for clock skew, and the touchpoint. PostHog's `distinct_id` and `uuid` become
/// `customer_id` and `event_id`.
///
/// Hand-written rather than through a JSON library: it locates the few members it needs with
/// the decoder's own scanner, building no tree of the whole batch. Each message is still
/// scanned three times (the body, its members, then the line by the event decoder); bench
/// figure 6 measures what that costs beside socket ingest.
public struct SDKPayloadDecoder: Sendable {
    /// Past this difference between an SDK's `sentAt` and the time of receipt, the message
    /// times are corrected as Segment documents: `receivedAt − (sentAt − timestamp)`.
    public var clockSkewTolerance: TimeSpan

    public init(clockSkewTolerance: TimeSpan = .minutes(5)) {
        self.clockSkewTolerance = clockSkewTolerance
    }

    /// What a body holds.
    public struct Payload: Sendable {
        /// The write key or API key carried in the body (`writeKey`, `api_key`), if any.
        public var key: String?
        /// One line per message, in the order sent.
        public var lines: [[UInt8]]
    }

    /// Reads a (decompressed) body of `route`.
    public func decode(_ body: UnsafeRawBufferPointer, route: SDKRoute, receivedAt: EventTime) throws(SDKPayloadError)
        -> Payload
    {
        guard let base = body.baseAddress, body.count > 0 else {
            throw SDKPayloadError(message: "the body is empty; send a JSON object")
        }
        if let offset = UTF8Validation.firstInvalidOffset(base, count: body.count) {
            throw SDKPayloadError(message: "the body is not UTF-8 (byte \(offset)); send JSON")
        }
        var scanner = JSONScanner(base: base, count: body.count)
        var envelope = Envelope()
        do throws(JSONSyntaxError) {
            scanner.skipWhitespace()
            guard scanner.current == UInt8(ascii: "{") else {
                throw scanner.unexpected(expecting: "a JSON object")
            }
            let whole = try scanner.scanObject(depth: 1, memberValues: .handOver) {
                (scanner: inout JSONScanner, key: JSONToken) throws(JSONSyntaxError) in
                try envelope.read(member: key, route: route, scanner: &scanner)
            }
            scanner.skipWhitespace()
            guard scanner.position == scanner.count else {
                throw scanner.unexpected(expecting: "the end of the body after the object")
            }
            if !route.isBatch { envelope.messages = [whole] }
        } catch {
            throw SDKPayloadError(message: "the body is not JSON: \(error.message) at byte \(error.offset)")
        }
        guard let messages = envelope.messages, !messages.isEmpty else {
            let field = route.isBatch ? "batch" : "message"
            throw SDKPayloadError(
                message: envelope.messages == nil && route.isBatch
                    ? "the body has no \"batch\" array of events"
                    : "the \(field) holds no events")
        }
        let batchSentAt = envelope.sentAt.flatMap { scanner.time($0) }
        var lines: [[UInt8]] = []
        lines.reserveCapacity(messages.count)
        for message in messages {
            lines.append(
                line(for: message, route: route, batchSentAt: batchSentAt, receivedAt: receivedAt, in: scanner))
        }
        return Payload(key: envelope.key.map { scanner.string($0) }, lines: lines)
    }

    /// The members of the body around the messages.
    private struct Envelope {
        var messages: [JSONToken]?
        var sentAt: JSONToken?
        var key: JSONToken?

        mutating func read(member key: JSONToken, route: SDKRoute, scanner: inout JSONScanner) throws(JSONSyntaxError) {
            let name = scanner.rawBytes(key)
            if route.isBatch, KeyMatcher.equals(name, "batch"), scanner.current == UInt8(ascii: "[") {
                messages = try scanner.scanElements(depth: 2)
                return
            }
            let value = try scanner.scanValue(depth: 2)
            guard value.kind == .string else { return }
            if KeyMatcher.equals(name, "sentAt") || KeyMatcher.equals(name, "sent_at") {
                sentAt = value
            } else if KeyMatcher.equals(name, "writeKey") || KeyMatcher.equals(name, "api_key") {
                self.key = value
            }
        }
    }

    /// The members of one message that decide what is appended to it.
    struct MessageFields {
        var members = 0
        var type: JSONToken?
        var name: JSONToken?
        var timestamp: JSONToken?
        var originalTimestamp: JSONToken?
        var sentAt: JSONToken?
        var distinctID: JSONToken?
        var uuid: JSONToken?
        var contextChannel: JSONToken?
        var propertiesTouchpoint: JSONToken?
    }

    private func line(
        for message: JSONToken, route: SDKRoute, batchSentAt: EventTime?, receivedAt: EventTime, in body: JSONScanner
    ) -> [UInt8] {
        guard message.kind == .object else { return Array(body.rawText(message)) }
        let fields = body.messageFields(message)
        var appended: [(StaticString, [UInt8])] = []

        switch route.family {
        case .segment:
            let type: String? =
                if case .segmentCall(let call) = route { call.rawValue } else { fields.type.map { body.string($0) } }
            switch type {
            case "page", "screen":
                var event = Array(type!.utf8)
                if let name = fields.name, name.kind == .string, name.count > 0 {
                    event += Array(":".utf8) + Array(body.rawBytes(name))
                }
                appended.append(("event", [UInt8(ascii: "\"")] + event + [UInt8(ascii: "\"")]))
            case "identify", "group", "alias":
                appended.append(("event", Array("\"\(type!)\"".utf8)))
            default:
                break  // track, or a type cjmd does not know: its own `event`, if any
            }
        case .posthog:
            if let distinctID = fields.distinctID { appended.append(("customer_id", Array(body.rawText(distinctID)))) }
            if let uuid = fields.uuid { appended.append(("event_id", Array(body.rawText(uuid)))) }
        }

        // The time: `timestamp`, else `originalTimestamp`; corrected past the tolerance.
        let sentTime = fields.timestamp.flatMap { $0.kind == .null ? nil : $0 } ?? fields.originalTimestamp
        if let sentTime, sentTime.kind != .null {
            if let corrected = correctedTime(
                sentTime, sentAt: fields.sentAt.flatMap { body.time($0) } ?? batchSentAt, receivedAt: receivedAt,
                in: body)
            {
                appended.append(("ts", Array("\"\(RFC3339.format(corrected))\"".utf8)))
            } else if fields.timestamp == nil || fields.timestamp?.kind == .null {
                appended.append(("ts", Array(body.rawText(sentTime))))
            }
        }

        if let touchpoint = fields.propertiesTouchpoint ?? fields.contextChannel {
            appended.append(("touchpoint", Array(body.rawText(touchpoint))))
        }

        let text = body.rawText(message)
        guard !appended.isEmpty else { return Array(text) }
        var line: [UInt8] = []
        line.reserveCapacity(text.count + 64 * appended.count)
        line.append(contentsOf: text.dropLast())  // without its closing brace
        for (index, (key, value)) in appended.enumerated() {
            if index > 0 || fields.members > 0 { line.append(UInt8(ascii: ",")) }
            line.append(UInt8(ascii: "\""))
            line.append(contentsOf: UnsafeRawBufferPointer(start: key.utf8Start, count: key.utf8CodeUnitCount))
            line.append(contentsOf: "\":".utf8)
            line.append(contentsOf: value)
        }
        line.append(UInt8(ascii: "}"))
        return line
    }

    /// The time a message was sent at, moved by the client's clock error when its `sentAt`
    /// and the time of receipt differ by more than the tolerance; nil when nothing moves.
    private func correctedTime(_ token: JSONToken, sentAt: EventTime?, receivedAt: EventTime, in body: JSONScanner)
        -> EventTime?
    {
        guard let sentAt, let time = body.time(token) else { return nil }
        let skew = receivedAt.microseconds &- sentAt.microseconds
        guard abs(skew) > clockSkewTolerance.microseconds else { return nil }
        return EventTime(microseconds: time.microseconds &+ skew)
    }
}

extension JSONScanner {
    /// Scans an array at `depth` (at its `[`), returning its elements.
    mutating func scanElements(depth: Int) throws(JSONSyntaxError) -> [JSONToken] {
        guard depth <= Self.maxDepth else {
            throw JSONSyntaxError(message: "nesting deeper than \(Self.maxDepth) levels", offset: position)
        }
        var elements: [JSONToken] = []
        position += 1  // "["
        skipWhitespace()
        if current == UInt8(ascii: "]") {
            position += 1
            return elements
        }
        while true {
            elements.append(try scanValue(depth: depth + 1))
            skipWhitespace()
            guard let next = current else { throw unexpected(expecting: "',' or ']' after an array element") }
            position += 1
            if next == UInt8(ascii: "]") { return elements }
            guard next == UInt8(ascii: ",") else {
                position -= 1
                throw unexpected(expecting: "',' or ']' after an array element")
            }
            skipWhitespace()
        }
    }

    /// A value's whole text: a string with its quotes.
    func rawText(_ token: JSONToken) -> UnsafeRawBufferPointer {
        let start = token.kind == .string ? token.start - 1 : token.start
        let end = token.kind == .string ? token.end + 1 : token.end
        return UnsafeRawBufferPointer(start: base + start, count: end - start)
    }

    /// A string token's text, unescaped.
    func string(_ token: JSONToken) -> String {
        withStringBytes(token) { String(decoding: $0, as: UTF8.self) }
    }

    /// A string token read as an RFC 3339 time; nil for anything else.
    func time(_ token: JSONToken) -> EventTime? {
        guard token.kind == .string else { return nil }
        return withStringBytes(token) { RFC3339.parse($0) }
    }

    /// The members of a message (an object already scanned once, so no error can occur).
    func messageFields(_ message: JSONToken) -> SDKPayloadDecoder.MessageFields {
        var inner = JSONScanner(base: base, count: message.end)
        inner.position = message.start
        var fields = SDKPayloadDecoder.MessageFields()
        _ = try? inner.scanObject(depth: 1, memberValues: .handOver) {
            (scanner: inout JSONScanner, key: JSONToken) throws(JSONSyntaxError) in
            fields.members += 1
            let name = scanner.rawBytes(key)
            let isContext = KeyMatcher.equals(name, "context")
            let isProperties = KeyMatcher.equals(name, "properties")
            if (isContext || isProperties) && scanner.current == UInt8(ascii: "{") {
                _ = try scanner.scanObject(depth: 2, memberValues: .handOver) {
                    (nested: inout JSONScanner, nestedKey: JSONToken) throws(JSONSyntaxError) in
                    let value = try nested.scanValue(depth: 3)
                    guard value.kind == .string else { return }
                    let nestedName = nested.rawBytes(nestedKey)
                    if isContext, KeyMatcher.equals(nestedName, "channel") { fields.contextChannel = value }
                    if isProperties, KeyMatcher.equals(nestedName, "touchpoint") { fields.propertiesTouchpoint = value }
                }
                return
            }
            let value = try scanner.scanValue(depth: 2)
            switch name.count {
            case 4:
                if KeyMatcher.equals(name, "type"), value.kind == .string { fields.type = value }
                if KeyMatcher.equals(name, "name") { fields.name = value }
                if KeyMatcher.equals(name, "uuid") { fields.uuid = value }
            case 6: if KeyMatcher.equals(name, "sentAt"), value.kind == .string { fields.sentAt = value }
            case 9: if KeyMatcher.equals(name, "timestamp") { fields.timestamp = value }
            case 11: if KeyMatcher.equals(name, "distinct_id") { fields.distinctID = value }
            case 17: if KeyMatcher.equals(name, "originalTimestamp") { fields.originalTimestamp = value }
            default: break
            }
        }
        return fields
    }
}
