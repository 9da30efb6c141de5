/// Writes rows in PostgreSQL's `COPY ... FROM STDIN` text format (the default format:
/// tab between fields, newline after each row, `\N` for NULL) straight into a byte buffer.
///
/// This is the bulk-load hot path, so fields are written without building intermediate
/// strings: text is copied in runs between the few bytes that need escaping, and numbers
/// and timestamps are formatted digit by digit.
///
/// PostgreSQL text cannot hold the NUL character; text containing NUL is written as is and
/// the server rejects that COPY (`invalid byte sequence for encoding "UTF8": 0x00`), so
/// remove NUL before copying.
public struct CopyTextEncoder: Sendable {
    /// The encoded rows so far.
    public private(set) var bytes: [UInt8]
    /// Whether the current row already has a field, so the next one needs a tab first.
    private var rowHasField = false
    /// Whether the array being written already has an element (see `beginArray()`).
    var arrayHasElement = false

    /// Creates an empty encoder whose buffer can grow to `capacity` bytes without reallocating.
    public init(reservingCapacity capacity: Int = 0) {
        bytes = []
        bytes.reserveCapacity(capacity)
    }

    /// Continues writing after existing bytes (parameter encoding reuses the formatting).
    init(adopting existing: [UInt8]) {
        bytes = existing
    }

    /// Hands over the bytes, leaving the encoder empty.
    mutating func takeBytes() -> [UInt8] {
        var taken: [UInt8] = []
        swap(&taken, &bytes)
        rowHasField = false
        return taken
    }

    /// Number of encoded bytes.
    public var count: Int { bytes.count }

    /// Forgets the encoded bytes but keeps the memory, so the next batch does not allocate.
    public mutating func removeAll() {
        bytes.removeAll(keepingCapacity: true)
        rowHasField = false
    }

    /// Ends the current row.
    public mutating func endRow() {
        bytes.append(UInt8(ascii: "\n"))
        rowHasField = false
    }

    /// Appends SQL `NULL`.
    public mutating func appendNull() {
        startField()
        bytes.append(UInt8(ascii: "\\"))
        bytes.append(UInt8(ascii: "N"))
    }

    /// Appends text, escaping backslash, tab, newline and carriage return.
    public mutating func appendText(_ text: String) {
        startField()
        appendEscaped(text.utf8)
    }

    /// Appends text, or `NULL` for `nil`.
    public mutating func appendText(_ text: String?) {
        guard let text else { return appendNull() }
        appendText(text)
    }

    /// Appends text from a substring without copying it into a new string first.
    public mutating func appendText(_ text: Substring) {
        startField()
        appendEscaped(text.utf8)
    }

    /// Appends UTF-8 bytes as text (for example a slice of an input line), escaping as needed.
    /// The bytes must be valid UTF-8; the server rejects the COPY otherwise.
    public mutating func appendText(utf8 text: UnsafeRawBufferPointer) {
        startField()
        appendEscapedContiguous(text.assumingMemoryBound(to: UInt8.self))
    }

    /// Appends an integer in decimal.
    public mutating func appendInteger(_ value: Int64) {
        startField()
        appendRawInteger(value)
    }

    /// Appends an integer in decimal.
    public mutating func appendInteger(_ value: Int) {
        startField()
        appendRawInteger(Int64(value))
    }

    /// Appends an integer of any other width in decimal.
    public mutating func appendInteger(_ value: some BinaryInteger) {
        startField()
        appendRawInteger(Int64(truncatingIfNeeded: value), exact: value)
    }

    /// Appends an integer, or `NULL` for `nil`.
    public mutating func appendInteger<Integer: BinaryInteger>(_ value: Integer?) {
        guard let value else { return appendNull() }
        appendInteger(value)
    }

    /// Appends a double so that it reads back bit for bit (shortest round-trip form;
    /// `NaN`, `Infinity`, `-Infinity` as PostgreSQL spells them).
    public mutating func appendDouble(_ value: Double) {
        startField()
        appendRawDouble(value)
    }

    /// Appends a double, or `NULL` for `nil`.
    public mutating func appendDouble(_ value: Double?) {
        guard let value else { return appendNull() }
        appendDouble(value)
    }

    /// Appends a boolean as `t` or `f`.
    public mutating func appendBool(_ value: Bool) {
        startField()
        appendRaw(value ? UInt8(ascii: "t") : UInt8(ascii: "f"))
    }

    /// Appends a boolean, or `NULL` for `nil`.
    public mutating func appendBool(_ value: Bool?) {
        guard let value else { return appendNull() }
        appendBool(value)
    }

    /// Appends bytes for a `bytea` column, in hex format (`\\x00ff...` on the wire).
    public mutating func appendBytea(_ value: some Sequence<UInt8>) {
        startField()
        appendRawByteaHex(value, backslashes: 2)
    }

    /// Appends bytes for a `bytea` column, or `NULL` for `nil`.
    public mutating func appendBytea(_ value: [UInt8]?) {
        guard let value else { return appendNull() }
        appendBytea(value)
    }

    /// Appends a point in time (microseconds since 1970-01-01 UTC) for a `timestamptz` column,
    /// as `YYYY-MM-DD HH:MM:SS.ffffff+00`. `Int64.max`/`Int64.min` write `infinity`/`-infinity`.
    public mutating func appendTimestamp(microsecondsSinceEpoch micros: Int64) {
        startField()
        appendRawTimestamp(microsecondsSinceEpoch: micros)
    }

    /// Appends a point in time, or `NULL` for `nil`.
    public mutating func appendTimestamp(microsecondsSinceEpoch micros: Int64?) {
        guard let micros else { return appendNull() }
        appendTimestamp(microsecondsSinceEpoch: micros)
    }

    // MARK: - Pieces shared with parameter encoding (no field separator, no COPY escaping)

    mutating func startField() {
        if rowHasField { bytes.append(UInt8(ascii: "\t")) }
        rowHasField = true
    }

    mutating func appendRaw(_ byte: UInt8) {
        bytes.append(byte)
    }

    mutating func appendRaw(_ ascii: StaticString) {
        ascii.withUTF8Buffer { bytes.append(contentsOf: $0) }
    }

    mutating func appendRawInteger(_ value: Int64) {
        if value < 0 { bytes.append(UInt8(ascii: "-")) }
        appendDigits(value.magnitude, minimumDigits: 1)
    }

    /// Writes `exact` in decimal; `truncated` is its Int64 form, used when it fits so the
    /// common case avoids generic arithmetic.
    private mutating func appendRawInteger(_ truncated: Int64, exact: some BinaryInteger) {
        if Int64(exactly: exact) == nil {
            // Wider than Int64 (UInt64 above Int64.max): rare, so a String is fine.
            bytes.append(contentsOf: String(exact).utf8)
            return
        }
        if truncated < 0 { bytes.append(UInt8(ascii: "-")) }
        appendDigits(truncated.magnitude, minimumDigits: 1)
    }

    /// Writes `value` in decimal, left-padded with zeros to `minimumDigits` (at most 20).
    mutating func appendDigits(_ value: UInt64, minimumDigits: Int) {
        // Digits come out last-first; build them on the stack, then copy once.
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 20) { scratch in
            var position = scratch.count
            var remaining = value
            repeat {
                position -= 1
                scratch[position] = UInt8(ascii: "0") &+ UInt8(truncatingIfNeeded: remaining % 10)
                remaining /= 10
            } while remaining > 0 || scratch.count - position < minimumDigits
            bytes.append(contentsOf: UnsafeBufferPointer(rebasing: scratch[position...]))
        }
    }

    mutating func appendRawDouble(_ value: Double) {
        if value.isNaN {
            appendRaw("NaN")
        } else if value.isInfinite {
            appendRaw(value < 0 ? "-Infinity" : "Infinity")
        } else {
            // Swift's description is the shortest text that reads back to the same double;
            // it is at most 24 bytes and fits a small (heap-free) string for typical values.
            bytes.append(contentsOf: value.description.utf8)
        }
    }

    /// Hex-format bytea: `\x` followed by two lowercase hex digits per byte. Inside COPY text
    /// the backslash itself must be escaped, hence the count.
    mutating func appendRawByteaHex(_ value: some Sequence<UInt8>, backslashes: Int) {
        for _ in 0..<backslashes { bytes.append(UInt8(ascii: "\\")) }
        bytes.append(UInt8(ascii: "x"))
        let hexDigits: StaticString = "0123456789abcdef"
        hexDigits.withUTF8Buffer { digits in
            for byte in value {
                bytes.append(digits[Int(byte >> 4)])
                bytes.append(digits[Int(byte & 0x0F)])
            }
        }
    }

    mutating func appendRawTimestamp(microsecondsSinceEpoch micros: Int64) {
        if micros == .max { return appendRaw("infinity") }
        if micros == .min { return appendRaw("-infinity") }
        let parts = CivilTime(microsecondsSinceEpoch: micros)
        // ISO 8601 has a year 0; PostgreSQL writes year 0 as 1 BC, year -1 as 2 BC, ...
        let isBC = parts.year <= 0
        let displayYear = isBC ? 1 - parts.year : parts.year
        if displayYear > 9999 {
            // Beyond four digits (PostgreSQL allows up to 294276): rare, so the simple path.
            appendDigits(UInt64(displayYear), minimumDigits: 4)
        }
        // "YYYY-MM-DD HH:MM:SS.ffffff+00 BC" is at most 32 bytes: format on the stack, copy once.
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 32) { scratch in
            var position = 0
            func put(_ byte: UInt8) {
                scratch[position] = byte
                position += 1
            }
            func put(_ value: Int64, digits: Int) {
                var remaining = value
                for offset in stride(from: digits - 1, through: 0, by: -1) {
                    scratch[position + offset] = UInt8(ascii: "0") &+ UInt8(truncatingIfNeeded: remaining % 10)
                    remaining /= 10
                }
                position += digits
            }
            if displayYear <= 9999 { put(displayYear, digits: 4) }
            put(UInt8(ascii: "-"))
            put(parts.month, digits: 2)
            put(UInt8(ascii: "-"))
            put(parts.day, digits: 2)
            put(UInt8(ascii: " "))
            put(parts.hour, digits: 2)
            put(UInt8(ascii: ":"))
            put(parts.minute, digits: 2)
            put(UInt8(ascii: ":"))
            put(parts.second, digits: 2)
            if parts.microsecond != 0 {
                put(UInt8(ascii: "."))
                put(parts.microsecond, digits: 6)
            }
            put(UInt8(ascii: "+"))
            put(UInt8(ascii: "0"))
            put(UInt8(ascii: "0"))
            if isBC {
                put(UInt8(ascii: " "))
                put(UInt8(ascii: "B"))
                put(UInt8(ascii: "C"))
            }
            bytes.append(contentsOf: UnsafeBufferPointer(rebasing: scratch[..<position]))
        }
    }

    // MARK: - Escaping

    private mutating func appendEscaped(_ utf8: some Collection<UInt8>) {
        let handledContiguously: Void? = utf8.withContiguousStorageIfAvailable { buffer in
            appendEscapedContiguous(buffer)
        }
        if handledContiguously == nil {
            for byte in utf8 { appendEscapedByte(byte) }
        }
    }

    /// Copies runs of ordinary bytes in bulk and escapes the rest; most text has nothing to
    /// escape, so this is one scan and one copy.
    private mutating func appendEscapedContiguous(_ buffer: UnsafeBufferPointer<UInt8>) {
        var runStart = 0
        for index in buffer.indices where Self.needsEscape(buffer[index]) {
            if runStart < index {
                bytes.append(contentsOf: UnsafeBufferPointer(rebasing: buffer[runStart..<index]))
            }
            appendEscapedByte(buffer[index])
            runStart = index + 1
        }
        if runStart < buffer.count {
            bytes.append(contentsOf: UnsafeBufferPointer(rebasing: buffer[runStart...]))
        }
    }

    @inline(__always)
    private static func needsEscape(_ byte: UInt8) -> Bool {
        byte == UInt8(ascii: "\\") || byte == UInt8(ascii: "\t") || byte == UInt8(ascii: "\n")
            || byte == UInt8(ascii: "\r")
    }

    private mutating func appendEscapedByte(_ byte: UInt8) {
        switch byte {
        case UInt8(ascii: "\\"):
            bytes.append(UInt8(ascii: "\\"))
            bytes.append(UInt8(ascii: "\\"))
        case UInt8(ascii: "\t"):
            bytes.append(UInt8(ascii: "\\"))
            bytes.append(UInt8(ascii: "t"))
        case UInt8(ascii: "\n"):
            bytes.append(UInt8(ascii: "\\"))
            bytes.append(UInt8(ascii: "n"))
        case UInt8(ascii: "\r"):
            bytes.append(UInt8(ascii: "\\"))
            bytes.append(UInt8(ascii: "r"))
        default: bytes.append(byte)
        }
    }
}
