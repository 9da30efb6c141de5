/// One-dimensional array literals (`{1,2,NULL}`) written straight into a COPY field, without
/// building an intermediate string per value — instance rows carry several arrays each.
///
/// Usage: `beginArray()`, one `appendArrayElement…` per element, `endArray()`. Elements are
/// numbers and timestamps only, which need no COPY escaping; timestamps are quoted because
/// their text contains a space.
extension CopyTextEncoder {
    /// Starts an array field.
    public mutating func beginArray() {
        startField()
        appendRaw(UInt8(ascii: "{"))
        arrayHasElement = false
    }

    /// Ends the array field.
    public mutating func endArray() {
        appendRaw(UInt8(ascii: "}"))
    }

    /// Appends an integer element.
    public mutating func appendArrayElement(_ value: Int64) {
        startElement()
        appendRawInteger(value)
    }

    /// Appends a double element that reads back bit for bit.
    public mutating func appendArrayElement(_ value: Double) {
        startElement()
        appendRawDouble(value)
    }

    /// Appends a timestamp element (microseconds since 1970-01-01 UTC), or `NULL` for nil.
    public mutating func appendArrayElement(timestampMicroseconds micros: Int64?) {
        startElement()
        guard let micros else { return appendRaw("NULL") }
        appendRaw(UInt8(ascii: "\""))
        appendRawTimestamp(microsecondsSinceEpoch: micros)
        appendRaw(UInt8(ascii: "\""))
    }

    /// Appends an exact decimal given in units of 10^-`fractionDigits` (e.g. micros with 6),
    /// for a `numeric[]` column.
    public mutating func appendArrayElement(fixedPoint units: Int64, fractionDigits: Int) {
        startElement()
        appendFixedPoint(units, fractionDigits: fractionDigits)
    }

    /// Writes `units` × 10^-`fractionDigits` in decimal (`-12.500000`).
    mutating func appendFixedPoint(_ units: Int64, fractionDigits: Int) {
        precondition((0...18).contains(fractionDigits), "fractionDigits must be 0...18")
        if units < 0 { appendRaw(UInt8(ascii: "-")) }
        var scale: UInt64 = 1
        for _ in 0..<fractionDigits { scale *= 10 }
        let magnitude = units.magnitude
        appendDigits(magnitude / scale, minimumDigits: 1)
        guard fractionDigits > 0 else { return }
        appendRaw(UInt8(ascii: "."))
        appendDigits(magnitude % scale, minimumDigits: fractionDigits)
    }

    private mutating func startElement() {
        if arrayHasElement { appendRaw(UInt8(ascii: ",")) }
        arrayHasElement = true
    }
}

extension CopyInWriter {
    /// Starts an array field (see ``CopyTextEncoder/beginArray()``).
    public mutating func beginArray() { encoder.beginArray() }
    /// Ends the array field.
    public mutating func endArray() { encoder.endArray() }
    /// Appends an integer element.
    public mutating func appendArrayElement(_ value: Int64) { encoder.appendArrayElement(value) }
    /// Appends a double element.
    public mutating func appendArrayElement(_ value: Double) { encoder.appendArrayElement(value) }
    /// Appends a timestamp element, or `NULL` for nil.
    public mutating func appendArrayElement(timestampMicroseconds micros: Int64?) {
        encoder.appendArrayElement(timestampMicroseconds: micros)
    }
    /// Appends an exact decimal element given in units of 10^-`fractionDigits`.
    public mutating func appendArrayElement(fixedPoint units: Int64, fractionDigits: Int) {
        encoder.appendArrayElement(fixedPoint: units, fractionDigits: fractionDigits)
    }
}
