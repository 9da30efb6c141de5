/// Streams rows into a running `COPY ... FROM STDIN (FORMAT binary)` (see
/// `PostgresConnection.copyInBinary`). Fields go into a buffer in the binary format (see
/// `CopyBinaryEncoder`), sent whenever it holds `bufferSize` bytes. Not copyable, so it
/// cannot outlive the COPY.
public struct BinaryCopyInWriter: ~Copyable {
    private let handle: OpaquePointer
    private let bufferSize: Int
    var encoder: CopyBinaryEncoder
    /// Rows ended so far.
    public private(set) var rowsWritten = 0
    /// Set when libpq could not send data: the server's own error then explains why.
    private(set) var sendFailed = false

    init(handle: OpaquePointer, bufferSize: Int) {
        self.handle = handle
        self.bufferSize = max(bufferSize, 1024)
        encoder = CopyBinaryEncoder(reservingCapacity: self.bufferSize + self.bufferSize / 4)
    }

    /// Appends a `text` value, or `NULL` for `nil`.
    public mutating func appendText(_ text: String?) { encoder.appendText(text) }
    /// Appends a `bytea` value, or `NULL` for `nil`.
    public mutating func appendBytes(_ value: [UInt8]?) { encoder.appendBytes(value) }
    /// Appends a `bytea` value: `bytes`, then `end` repeated `count` times.
    public mutating func appendBytes(_ bytes: UnsafeRawBufferPointer, end: UInt8, count: Int) {
        encoder.appendBytes(bytes, end: end, count: count)
    }
    /// Appends a `jsonb` value from its JSON text, or `NULL` for `nil`.
    public mutating func appendJSONB(_ json: String?) { encoder.appendJSONB(json) }
    /// Appends an `int8` value.
    public mutating func appendInt64(_ value: Int64) { encoder.appendInt64(value) }
    /// Appends an `int4` value.
    public mutating func appendInt32(_ value: Int32) { encoder.appendInt32(value) }
    /// Appends an `int2` value.
    public mutating func appendInt16(_ value: Int16) { encoder.appendInt16(value) }
    /// Appends a `float8` value, or `NULL` for `nil`.
    public mutating func appendDouble(_ value: Double?) { encoder.appendDouble(value) }
    /// Appends a `timestamptz` value given in microseconds since 1970.
    public mutating func appendTimestamp(microsecondsSinceEpoch micros: Int64) {
        encoder.appendTimestamp(microsecondsSinceEpoch: micros)
    }
    /// Appends a `numeric` value given as a count of `10^-scale` units, or `NULL` for `nil`.
    public mutating func appendNumeric(units: Int64?, scale: Int) { encoder.appendNumeric(units: units, scale: scale) }
    /// Appends SQL `NULL`.
    public mutating func appendNull() { encoder.appendNull() }
    /// Appends an `interval` of whole microseconds.
    public mutating func appendInterval(microseconds: Int64) { encoder.appendInterval(microseconds: microseconds) }
    /// Starts an array of `count` elements (see `CopyBinaryEncoder.beginArray(of:count:)`).
    public mutating func beginArray(of type: CopyBinaryEncoder.ArrayElement, count: Int) {
        encoder.beginArray(of: type, count: count)
    }
    /// Ends the array begun last.
    public mutating func endArray() { encoder.endArray() }
    /// Appends an `int4` array element.
    public mutating func appendArrayElement(int4 value: Int32) { encoder.appendArrayElement(int4: value) }
    /// Appends a `float8` array element.
    public mutating func appendArrayElement(float8 value: Double) { encoder.appendArrayElement(float8: value) }
    /// Appends a `timestamptz` array element, or NULL for `nil`.
    public mutating func appendArrayElement(timestampMicroseconds micros: Int64?) {
        encoder.appendArrayElement(timestampMicroseconds: micros)
    }
    /// Appends a `numeric` array element.
    public mutating func appendArrayElement(numericUnits units: Int64, scale: Int) {
        encoder.appendArrayElement(numericUnits: units, scale: scale)
    }

    /// Ends the row; sends the buffer when it is full.
    /// - Throws: `PostgresError` when sending fails (the connection broke).
    public mutating func endRow() throws(PostgresError) {
        encoder.endRow()
        rowsWritten += 1
        if encoder.count >= bufferSize { try flush() }
    }

    /// Sends whatever is buffered, so that the server can work on it while the caller does
    /// something else before the next rows.
    public mutating func flush() throws(PostgresError) {
        guard encoder.count > 0 else { return }
        let sent = PostgresConnection.sendCopyData(handle, encoder.bytes)
        encoder.removeAll()
        guard sent else {
            sendFailed = true
            throw PostgresConnection.connectionError(handle, kind: .copyFailed, sql: nil)
        }
    }

    /// Sends the end-of-data marker and what is buffered.
    mutating func finish() throws(PostgresError) {
        encoder.appendTrailer()
        try flush()
    }
}
