#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// A syntax error in a line, with the byte offset where it was found.
struct JSONSyntaxError: Error {
    var message: String
    var offset: Int

    /// The rejection detail: `line: <message> at byte <offset>`.
    var detail: String { "line: \(message) at byte \(offset)" }
}

/// A strict RFC 8259 scanner over the bytes of one line, which must already be valid UTF-8.
///
/// It checks the whole line and locates values (``JSONToken``) without converting them, so a
/// line costs one pass and no allocations until the decoder turns the few fields it needs into
/// Swift values. It also counts what PostgreSQL's `jsonb` would refuse (`\u0000` escapes and
/// numbers beyond `numeric`), so that a `properties` object that would fail the batch's `COPY`
/// is rejected here instead.
struct JSONScanner {
    /// Containers nested deeper than this are rejected; the line's top-level value is level 1.
    static let maxDepth = 64

    let base: UnsafeRawPointer
    let count: Int
    var position = 0
    /// `\u0000` escapes seen so far, in keys and values.
    var nulEscapes = 0
    /// Numbers seen so far that PostgreSQL `numeric` (and so `jsonb`) cannot hold.
    var unstorableNumbers = 0

    init(base: UnsafeRawPointer, count: Int) {
        self.base = base
        self.count = count
    }

    @inline(__always) func byte(at index: Int) -> UInt8 {
        base.load(fromByteOffset: index, as: UInt8.self)
    }

    /// The current byte, or nil at the end of the line.
    @inline(__always) var current: UInt8? {
        position < count ? byte(at: position) : nil
    }

    @inline(__always) mutating func skipWhitespace() {
        while position < count {
            switch byte(at: position) {
            case 0x20, 0x09, 0x0A, 0x0D: position += 1
            default: return
            }
        }
    }

    /// Consumes `expected` or fails with "expected <what>".
    @inline(__always) mutating func consume(_ expected: UInt8, _ what: @autoclosure () -> String)
        throws(JSONSyntaxError)
    {
        guard position < count, byte(at: position) == expected else { throw unexpected(expecting: what()) }
        position += 1
    }

    /// An error for the byte at the current position: "expected X, got Y".
    func unexpected(expecting what: String) -> JSONSyntaxError {
        guard position < count else {
            return JSONSyntaxError(message: "expected \(what), but the line ends", offset: position)
        }
        return JSONSyntaxError(message: "expected \(what), got \(Self.describe(byte(at: position)))", offset: position)
    }

    static func describe(_ byte: UInt8) -> String {
        if byte >= 0x21 && byte <= 0x7E { return "'\(Character(Unicode.Scalar(byte)))'" }
        if byte == 0x20 { return "a space" }
        return "byte 0x\(String(byte, radix: 16, uppercase: true))"
    }

    // MARK: Values

    /// Scans any value whose containers sit at nesting level `depth`, leaving `position` just
    /// after it.
    mutating func scanValue(depth: Int) throws(JSONSyntaxError) -> JSONToken {
        guard position < count else { throw unexpected(expecting: "a value") }
        switch byte(at: position) {
        case UInt8(ascii: "\""):
            return try scanString()
        case UInt8(ascii: "{"):
            return try scanObject(depth: depth, memberValues: .skip) { _, _ in }
        case UInt8(ascii: "["):
            return try scanArray(depth: depth)
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            return try scanNumber()
        case UInt8(ascii: "t"):
            return try scanLiteral("true", .true)
        case UInt8(ascii: "f"):
            return try scanLiteral("false", .false)
        case UInt8(ascii: "n"):
            return try scanLiteral("null", .null)
        default:
            throw unexpected(expecting: "a value")
        }
    }

    private mutating func scanLiteral(_ text: StaticString, _ kind: JSONToken.Kind) throws(JSONSyntaxError) -> JSONToken
    {
        let start = position
        let length = text.utf8CodeUnitCount
        guard count - position >= length, memcmp(base + position, text.utf8Start, length) == 0 else {
            throw JSONSyntaxError(message: "invalid literal (expected \(text))", offset: start)
        }
        position += length
        return JSONToken(kind: kind, start: start, end: position)
    }

    /// What ``scanObject(depth:memberValues:onMember:)`` does with each member's value.
    enum MemberValues {
        /// Scan and discard it (the closure is not called).
        case skip
        /// Call `onMember` with the member's name, positioned at the value; it must scan the value.
        case handOver
    }

    /// Scans an object at nesting level `depth`, starting at its `{`.
    mutating func scanObject(
        depth: Int, memberValues: MemberValues,
        onMember: (inout JSONScanner, JSONToken) throws(JSONSyntaxError) -> Void
    ) throws(JSONSyntaxError) -> JSONToken {
        guard depth <= Self.maxDepth else {
            throw JSONSyntaxError(message: "nesting deeper than \(Self.maxDepth) levels", offset: position)
        }
        let start = position
        let nulBefore = nulEscapes
        let unstorableBefore = unstorableNumbers
        position += 1  // "{"
        skipWhitespace()
        if current == UInt8(ascii: "}") {
            position += 1
        } else {
            while true {
                guard current == UInt8(ascii: "\"") else {
                    throw unexpected(expecting: "a member name in double quotes")
                }
                let key = try scanString()
                skipWhitespace()
                try consume(UInt8(ascii: ":"), "':' after a member name")
                skipWhitespace()
                switch memberValues {
                case .skip: _ = try scanValue(depth: depth + 1)
                case .handOver: try onMember(&self, key)
                }
                skipWhitespace()
                guard let next = current else { throw unexpected(expecting: "',' or '}' after a member") }
                position += 1
                if next == UInt8(ascii: "}") { break }
                guard next == UInt8(ascii: ",") else {
                    position -= 1
                    throw unexpected(expecting: "',' or '}' after a member")
                }
                skipWhitespace()
            }
        }
        var token = JSONToken(kind: .object, start: start, end: position)
        token.containsNUL = nulEscapes > nulBefore
        token.containsUnstorableNumber = unstorableNumbers > unstorableBefore
        return token
    }

    private mutating func scanArray(depth: Int) throws(JSONSyntaxError) -> JSONToken {
        guard depth <= Self.maxDepth else {
            throw JSONSyntaxError(message: "nesting deeper than \(Self.maxDepth) levels", offset: position)
        }
        let start = position
        let nulBefore = nulEscapes
        let unstorableBefore = unstorableNumbers
        position += 1  // "["
        skipWhitespace()
        if current == UInt8(ascii: "]") {
            position += 1
        } else {
            while true {
                _ = try scanValue(depth: depth + 1)
                skipWhitespace()
                guard let next = current else { throw unexpected(expecting: "',' or ']' after an array element") }
                position += 1
                if next == UInt8(ascii: "]") { break }
                guard next == UInt8(ascii: ",") else {
                    position -= 1
                    throw unexpected(expecting: "',' or ']' after an array element")
                }
                skipWhitespace()
            }
        }
        var token = JSONToken(kind: .array, start: start, end: position)
        token.containsNUL = nulEscapes > nulBefore
        token.containsUnstorableNumber = unstorableNumbers > unstorableBefore
        return token
    }

    // MARK: Strings

    /// Scans a string starting at its opening quote. The token covers the raw content.
    mutating func scanString() throws(JSONSyntaxError) -> JSONToken {
        let open = position
        position += 1
        let start = position
        var hasEscapes = false
        while true {
            guard position < count else {
                throw JSONSyntaxError(message: "unterminated string (opened at byte \(open))", offset: position)
            }
            let b = byte(at: position)
            if b == UInt8(ascii: "\"") { break }
            if b == UInt8(ascii: "\\") {
                hasEscapes = true
                try scanEscape()
                continue
            }
            if b < 0x20 {
                throw JSONSyntaxError(
                    message: "control character U+\(Self.hex4(UInt16(b))) inside a string must be escaped",
                    offset: position)
            }
            position += 1
        }
        let token = JSONToken(kind: .string, start: start, end: position, hasEscapes: hasEscapes)
        position += 1
        return token
    }

    /// Checks one escape sequence at the backslash and moves past it.
    private mutating func scanEscape() throws(JSONSyntaxError) {
        let escapeStart = position
        guard position + 1 < count else {
            throw JSONSyntaxError(message: "unterminated escape sequence", offset: escapeStart)
        }
        switch byte(at: position + 1) {
        case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"), UInt8(ascii: "b"), UInt8(ascii: "f"),
            UInt8(ascii: "n"), UInt8(ascii: "r"), UInt8(ascii: "t"):
            position += 2
        case UInt8(ascii: "u"):
            let unit = try hexUnit(at: position + 2, escapeStart: escapeStart)
            position += 6
            if unit == 0 { nulEscapes += 1 }
            if unit >= 0xDC00 && unit <= 0xDFFF {
                throw JSONSyntaxError(
                    message: "lone low surrogate \\u\(Self.hex4(unit)) (not preceded by a high surrogate)",
                    offset: escapeStart)
            }
            if unit >= 0xD800 && unit <= 0xDBFF {
                guard position + 1 < count, byte(at: position) == UInt8(ascii: "\\"),
                    byte(at: position + 1) == UInt8(ascii: "u"),
                    let low = try? hexUnit(at: position + 2, escapeStart: position), low >= 0xDC00, low <= 0xDFFF
                else {
                    throw JSONSyntaxError(
                        message: "lone high surrogate \\u\(Self.hex4(unit)) (not followed by a \\uDC00–\\uDFFF escape)",
                        offset: escapeStart)
                }
                position += 6
            }
        default:
            throw JSONSyntaxError(
                message: "invalid escape sequence \\\(Self.describeRaw(byte(at: position + 1)))", offset: escapeStart)
        }
    }

    private static func describeRaw(_ byte: UInt8) -> String {
        byte >= 0x21 && byte <= 0x7E ? String(Character(Unicode.Scalar(byte))) : "(byte 0x\(String(byte, radix: 16)))"
    }

    /// The UTF-16 code unit of the four hex digits at `index`.
    func hexUnit(at index: Int, escapeStart: Int) throws(JSONSyntaxError) -> UInt16 {
        guard index + 4 <= count else {
            throw JSONSyntaxError(message: "\\u escape needs four hex digits", offset: escapeStart)
        }
        var unit: UInt16 = 0
        for k in 0..<4 {
            guard let digit = Self.hexValue(byte(at: index + k)) else {
                throw JSONSyntaxError(message: "\\u escape needs four hex digits", offset: escapeStart)
            }
            unit = unit << 4 | UInt16(digit)
        }
        return unit
    }

    @inline(__always) static func hexValue(_ b: UInt8) -> UInt8? {
        switch b {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): b - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): b - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): b - UInt8(ascii: "A") + 10
        default: nil
        }
    }

    static func hex4(_ unit: UInt16) -> String {
        let digits = String(unit, radix: 16, uppercase: true)
        return String(repeating: "0", count: 4 - digits.count) + digits
    }

    // MARK: Numbers

    /// Scans `-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?`.
    mutating func scanNumber() throws(JSONSyntaxError) -> JSONToken {
        let start = position
        if byte(at: position) == UInt8(ascii: "-") { position += 1 }
        guard let first = current, Self.isDigit(first) else { throw unexpected(expecting: "a digit in a number") }
        position += 1
        if first != UInt8(ascii: "0") {
            skipDigits()
        } else if let next = current, Self.isDigit(next) {
            throw JSONSyntaxError(message: "a number cannot start with 0 followed by more digits", offset: start)
        }
        let integerEnd = position
        var fractionEnd = position
        var isInteger = true
        if current == UInt8(ascii: ".") {
            position += 1
            guard let d = current, Self.isDigit(d) else {
                throw unexpected(expecting: "a digit after the decimal point")
            }
            skipDigits()
            fractionEnd = position
            isInteger = false
        }
        var hasExponent = false
        if let e = current, e == UInt8(ascii: "e") || e == UInt8(ascii: "E") {
            position += 1
            if let sign = current, sign == UInt8(ascii: "+") || sign == UInt8(ascii: "-") { position += 1 }
            guard let d = current, Self.isDigit(d) else { throw unexpected(expecting: "a digit in the exponent") }
            skipDigits()
            isInteger = false
            hasExponent = true
        }
        // Only an exponent or a very long number can exceed what PostgreSQL stores.
        if hasExponent || position - start > PostgresNumericLimits.longestAlwaysStorable {
            if !PostgresNumericLimits.canStore(
                self, start: start, integerEnd: integerEnd, fractionEnd: fractionEnd, end: position)
            {
                unstorableNumbers += 1
            }
        }
        return JSONToken(kind: .number, start: start, end: position, isInteger: isInteger)
    }

    @inline(__always) static func isDigit(_ b: UInt8) -> Bool { b &- UInt8(ascii: "0") < 10 }

    @inline(__always) private mutating func skipDigits() {
        while position < count, Self.isDigit(byte(at: position)) { position += 1 }
    }
}
