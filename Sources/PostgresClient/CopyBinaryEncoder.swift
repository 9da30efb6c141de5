/// Writes rows in PostgreSQL's binary `COPY ... FROM STDIN (FORMAT binary)` format straight
/// into a byte buffer: per row a field count, per field its length (−1 for NULL) and its
/// value in the type's binary send format.
///
/// The server does less with binary rows than with text ones: no parsing of timestamps,
/// numbers or escapes, only copying. Each value must be sent in the binary format of its
/// column's exact type (an `int8` column takes 8 bytes, not 4), which text COPY would have
/// converted; the caller knows its columns.
///
/// Text (and the text inside `jsonb`) must be valid UTF-8 without NUL, as in text COPY; the
/// server checks it and refuses the COPY otherwise.
public struct CopyBinaryEncoder: Sendable {
    /// The encoded bytes so far (the header first, once).
    public private(set) var bytes: [UInt8]
    /// Where the current row's field count goes (nil between rows).
    private var rowStart: Int?
    private var fieldsInRow: Int16 = 0
    /// Where the array being written starts (its length field), and whether it has a NULL.
    private var arrayStart: Int?
    private var arrayHasNull = false

    /// Microseconds from 1970-01-01 to PostgreSQL's epoch, 2000-01-01 (UTC).
    static let postgresEpochOffset: Int64 = 946_684_800_000_000

    /// Creates an encoder holding the COPY header, whose buffer can grow to `capacity` bytes
    /// without reallocating.
    public init(reservingCapacity capacity: Int = 0) {
        bytes = []
        bytes.reserveCapacity(max(capacity, 32))
        // PGCOPY\n\377\r\n\0
        bytes.append(contentsOf: [0x50, 0x47, 0x43, 0x4F, 0x50, 0x59, 0x0A, 0xFF, 0x0D, 0x0A, 0x00])
        appendBigEndian(Int32(0))  // flags
        appendBigEndian(Int32(0))  // header extension length
    }

    /// Number of encoded bytes.
    public var count: Int { bytes.count }

    /// Forgets the encoded bytes but keeps the memory (the header is not written again).
    public mutating func removeAll() {
        bytes.removeAll(keepingCapacity: true)
        rowStart = nil
        fieldsInRow = 0
    }

    /// Ends the current row.
    public mutating func endRow() {
        startRowIfNeeded()
        let count = UInt16(bitPattern: fieldsInRow)
        bytes[rowStart!] = UInt8(truncatingIfNeeded: count >> 8)
        bytes[rowStart! + 1] = UInt8(truncatingIfNeeded: count)
        rowStart = nil
        fieldsInRow = 0
    }

    /// The end-of-data marker, after the last row.
    mutating func appendTrailer() {
        appendBigEndian(Int16(-1))
    }

    /// Appends SQL `NULL`.
    public mutating func appendNull() {
        startField()
        appendBigEndian(Int32(-1))
    }

    /// Appends a `text` (or `varchar`) value.
    public mutating func appendText(_ text: String) {
        startField()
        var text = text
        text.withUTF8 { appendLengthPrefixed($0) }
    }

    /// Appends a `text` value, or `NULL` for `nil`.
    public mutating func appendText(_ text: String?) {
        guard let text else { return appendNull() }
        appendText(text)
    }

    /// Appends a `bytea` value, or `NULL` for `nil`.
    public mutating func appendBytes(_ value: [UInt8]?) {
        guard let value else { return appendNull() }
        startField()
        value.withUnsafeBufferPointer { appendLengthPrefixed($0) }
    }

    /// Appends a `bytea` value: `value`, then `end` repeated `count` times.
    public mutating func appendBytes(_ value: UnsafeRawBufferPointer, end: UInt8, count: Int) {
        startField()
        appendBigEndian(Int32(value.count + count))
        bytes.append(contentsOf: value)
        for _ in 0..<count { bytes.append(end) }
    }

    /// Appends a `jsonb` value from its JSON text (format version 1: the text itself).
    public mutating func appendJSONB(_ json: String?) {
        guard var json else { return appendNull() }
        startField()
        json.withUTF8 { utf8 in
            appendBigEndian(Int32(utf8.count + 1))
            bytes.append(1)
            bytes.append(contentsOf: utf8)
        }
    }

    /// Appends an `int8` value.
    public mutating func appendInt64(_ value: Int64) {
        startField()
        appendBigEndian(Int32(8))
        appendBigEndian(value)
    }

    /// Appends an `int2` value.
    public mutating func appendInt16(_ value: Int16) {
        startField()
        appendBigEndian(Int32(2))
        appendBigEndian(value)
    }

    /// Appends an `int4` value.
    public mutating func appendInt32(_ value: Int32) {
        startField()
        appendBigEndian(Int32(4))
        appendBigEndian(value)
    }

    /// Appends a `float8` value, or `NULL` for `nil`.
    public mutating func appendDouble(_ value: Double?) {
        guard let value else { return appendNull() }
        startField()
        appendBigEndian(Int32(8))
        appendBigEndian(value.bitPattern)
    }

    /// Appends a `timestamptz` (or `timestamp`) value given in microseconds since 1970.
    public mutating func appendTimestamp(microsecondsSinceEpoch micros: Int64) {
        startField()
        appendBigEndian(Int32(8))
        appendBigEndian(micros &- Self.postgresEpochOffset)
    }

    /// Appends a `numeric` value given as a count of `10^-scale` units (`scale` ≤ 8), or
    /// `NULL` for `nil`; for example 12.5 with scale 6 is `12_500_000`.
    public mutating func appendNumeric(units: Int64?, scale: Int) {
        guard let units else { return appendNull() }
        startField()
        appendNumericValue(units: units, scale: scale)
    }

    // MARK: One-dimensional arrays

    /// Element types of arrays this encoder writes, by type OID.
    public enum ArrayElement: UInt32, Sendable {
        case int4 = 23
        case float8 = 701
        case timestamptz = 1184
        case numeric = 1700
    }

    /// Starts an array value of `count` elements of `type` (lower bound 1); append exactly
    /// `count` elements with the `appendArrayElement` methods, then call `endArray()`.
    public mutating func beginArray(of type: ArrayElement, count: Int) {
        startField()
        arrayStart = bytes.count
        arrayHasNull = false
        appendBigEndian(Int32(0))  // length, set by endArray()
        appendBigEndian(Int32(count == 0 ? 0 : 1))
        appendBigEndian(Int32(0))  // has-null flag, set by endArray()
        appendBigEndian(type.rawValue)
        if count > 0 {
            appendBigEndian(Int32(count))
            appendBigEndian(Int32(1))
        }
    }

    /// Ends the array begun last.
    public mutating func endArray() {
        guard let start = arrayStart else { preconditionFailure("endArray() without beginArray(of:count:)") }
        patchBigEndian(Int32(bytes.count - start - 4), at: start)
        if arrayHasNull { patchBigEndian(Int32(1), at: start + 8) }
        arrayStart = nil
    }

    /// Appends an `int4` element.
    public mutating func appendArrayElement(int4 value: Int32) {
        appendBigEndian(Int32(4))
        appendBigEndian(value)
    }

    /// Appends a `float8` element.
    public mutating func appendArrayElement(float8 value: Double) {
        appendBigEndian(Int32(8))
        appendBigEndian(value.bitPattern)
    }

    /// Appends a `timestamptz` element (microseconds since 1970), or NULL for `nil`.
    public mutating func appendArrayElement(timestampMicroseconds micros: Int64?) {
        guard let micros else {
            arrayHasNull = true
            return appendBigEndian(Int32(-1))
        }
        appendBigEndian(Int32(8))
        appendBigEndian(micros &- Self.postgresEpochOffset)
    }

    /// Appends a `numeric` element given as a count of `10^-scale` units.
    public mutating func appendArrayElement(numericUnits units: Int64, scale: Int) {
        appendNumericValue(units: units, scale: scale)
    }

    /// Appends an `interval` of whole microseconds (no days or months, as PostgreSQL reads
    /// `N microseconds`).
    public mutating func appendInterval(microseconds: Int64) {
        startField()
        appendBigEndian(Int32(16))
        appendBigEndian(microseconds)
        appendBigEndian(Int32(0))
        appendBigEndian(Int32(0))
    }

    /// Length and send format of a numeric value.
    private mutating func appendNumericValue(units: Int64, scale: Int) {
        precondition((0...8).contains(scale), "numeric scale \(scale) is outside 0...8")
        // numeric's send format: base-10000 digits (most significant first), the weight of
        // the first one (a power of 10000), the sign, the display scale. The fraction is
        // padded to whole base-10000 digits, and zero digits at either end are left out.
        let fractionGroups = (scale + 3) / 4
        var pad: UInt64 = 1
        for _ in 0..<(fractionGroups * 4 - scale) { pad *= 10 }
        var (high, low) = units.magnitude.multipliedFullWidth(by: pad)
        withUnsafeTemporaryAllocation(of: Int16.self, capacity: 12) { groups in
            // Least significant first: a 128-bit value has at most 10 base-10000 digits.
            var count = 0
            while high > 0 || low > 0 {
                let (q1, r1) = high.quotientAndRemainder(dividingBy: 10_000)
                let (q0, r0) = UInt64(10_000).dividingFullWidth((r1, low))
                groups[count] = Int16(r0)
                count += 1
                high = q1
                low = q0
            }
            var lowest = 0
            while lowest < count, groups[lowest] == 0 { lowest += 1 }
            let digits = count - lowest
            appendBigEndian(Int32(8 + 2 * digits))
            appendBigEndian(Int16(digits))
            appendBigEndian(Int16(digits == 0 ? 0 : count - fractionGroups - 1))
            appendBigEndian(UInt16(units < 0 ? 0x4000 : 0x0000))
            appendBigEndian(Int16(scale))
            var index = count - 1
            while index >= lowest {
                appendBigEndian(groups[index])
                index -= 1
            }
        }
    }

    // MARK: Raw bytes

    private mutating func startRowIfNeeded() {
        guard rowStart == nil else { return }
        rowStart = bytes.count
        bytes.append(0)
        bytes.append(0)
    }

    private mutating func startField() {
        startRowIfNeeded()
        fieldsInRow += 1
    }

    private mutating func appendLengthPrefixed(_ value: UnsafeBufferPointer<UInt8>) {
        appendBigEndian(Int32(value.count))
        bytes.append(contentsOf: value)
    }

    private mutating func appendBigEndian<Integer: FixedWidthInteger>(_ value: Integer) {
        withUnsafeBytes(of: value.bigEndian) { bytes.append(contentsOf: $0) }
    }

    private mutating func patchBigEndian(_ value: Int32, at offset: Int) {
        withUnsafeBytes(of: value.bigEndian) { raw in
            for (i, byte) in raw.enumerated() { bytes[offset + i] = byte }
        }
    }
}
