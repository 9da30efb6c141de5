/// An event-name pattern from the configuration: literal text in which `*` matches any run
/// of characters (including none). Matching is byte-wise on UTF-8 and case-sensitive.
public struct EventPattern: Sendable, Hashable, CustomStringConvertible {
    /// The pattern as written.
    public let text: String
    private let parts: [[UInt8]]  // the literal runs between stars

    public init(_ text: String) {
        self.text = text
        let bytes = Array(text.utf8)
        self.parts = bytes.split(separator: UInt8(ascii: "*"), omittingEmptySubsequences: false).map(Array.init)
    }

    /// True when the pattern contains no `*`.
    public var isLiteral: Bool { parts.count == 1 }

    public var description: String { text }

    /// Whether `name` matches the whole pattern.
    public func matches(_ name: String) -> Bool {
        var name = name
        return name.withUTF8 { matches(utf8: $0) }
    }

    /// Whether the UTF-8 bytes match the whole pattern.
    public func matches(utf8 name: UnsafeBufferPointer<UInt8>) -> Bool {
        if parts.count == 1 { return name.elementsEqual(parts[0]) }
        // Greedy left-to-right search is exact for patterns with only `*` wildcards: each literal
        // run is placed at its earliest position, which leaves the most room for the rest.
        var position = 0
        let first = parts[0]
        guard name.count >= first.count, name.prefix(first.count).elementsEqual(first) else { return false }
        position = first.count
        let last = parts[parts.count - 1]
        guard name.count - position >= last.count,
            name.suffix(last.count).elementsEqual(last)
        else { return false }
        let end = name.count - last.count
        for part in parts.dropFirst().dropLast() where !part.isEmpty {
            guard let found = find(part, in: name, from: position, to: end) else { return false }
            position = found + part.count
        }
        return position <= end
    }

    private func find(_ needle: [UInt8], in hay: UnsafeBufferPointer<UInt8>, from: Int, to: Int) -> Int? {
        guard to - from >= needle.count else { return nil }
        var i = from
        while i + needle.count <= to {
            var j = 0
            while j < needle.count, hay[i + j] == needle[j] { j += 1 }
            if j == needle.count { return i }
            i += 1
        }
        return nil
    }

    public static func == (lhs: EventPattern, rhs: EventPattern) -> Bool { lhs.text == rhs.text }
    public func hash(into hasher: inout Hasher) { hasher.combine(text) }
}
