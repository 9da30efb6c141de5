import CLibPQ

/// Streams rows into a running `COPY ... FROM STDIN` (see `PostgresConnection.copyIn`).
///
/// Fields are appended to a buffer in COPY text format (see `CopyTextEncoder`); `endRow()`
/// sends the buffer to the server once it holds `bufferSize` bytes, so a million rows cost
/// a few hundred sends and no allocation per row. Not copyable, so it cannot outlive the COPY.
public struct CopyInWriter: ~Copyable {
    private let handle: OpaquePointer
    private let bufferSize: Int
    var encoder: CopyTextEncoder
    /// Rows ended so far.
    public private(set) var rowsWritten = 0
    /// Set when libpq could not send data: the server's own error then explains why.
    private(set) var sendFailed = false

    init(handle: OpaquePointer, bufferSize: Int) {
        self.handle = handle
        self.bufferSize = max(bufferSize, 1024)
        // Room for one row beyond the threshold, so crossing it does not reallocate.
        encoder = CopyTextEncoder(reservingCapacity: self.bufferSize + self.bufferSize / 4)
    }

    /// Appends text, escaping backslash, tab, newline and carriage return. No NUL allowed.
    public mutating func appendText(_ text: String) { encoder.appendText(text) }
    /// Appends text, or `NULL` for `nil`.
    public mutating func appendText(_ text: String?) { encoder.appendText(text) }
    /// Appends text from a substring.
    public mutating func appendText(_ text: Substring) { encoder.appendText(text) }
    /// Appends valid UTF-8 bytes as text.
    public mutating func appendText(utf8 text: UnsafeRawBufferPointer) { encoder.appendText(utf8: text) }
    /// Appends SQL `NULL`.
    public mutating func appendNull() { encoder.appendNull() }
    /// Appends an integer in decimal.
    public mutating func appendInteger(_ value: Int64) { encoder.appendInteger(value) }
    /// Appends an integer in decimal.
    public mutating func appendInteger(_ value: Int) { encoder.appendInteger(value) }
    /// Appends an integer of any other width in decimal.
    public mutating func appendInteger(_ value: some BinaryInteger) { encoder.appendInteger(value) }
    /// Appends an integer, or `NULL` for `nil`.
    public mutating func appendInteger<Integer: BinaryInteger>(_ value: Integer?) { encoder.appendInteger(value) }
    /// Appends a double that reads back bit for bit.
    public mutating func appendDouble(_ value: Double) { encoder.appendDouble(value) }
    /// Appends a double, or `NULL` for `nil`.
    public mutating func appendDouble(_ value: Double?) { encoder.appendDouble(value) }
    /// Appends a boolean.
    public mutating func appendBool(_ value: Bool) { encoder.appendBool(value) }
    /// Appends a boolean, or `NULL` for `nil`.
    public mutating func appendBool(_ value: Bool?) { encoder.appendBool(value) }
    /// Appends bytes for a `bytea` column.
    public mutating func appendBytea(_ value: some Sequence<UInt8>) { encoder.appendBytea(value) }
    /// Appends bytes for a `bytea` column, or `NULL` for `nil`.
    public mutating func appendBytea(_ value: [UInt8]?) { encoder.appendBytea(value) }
    /// Appends microseconds since 1970-01-01 UTC for a `timestamptz` column.
    public mutating func appendTimestamp(microsecondsSinceEpoch micros: Int64) {
        encoder.appendTimestamp(microsecondsSinceEpoch: micros)
    }
    /// Appends a timestamp, or `NULL` for `nil`.
    public mutating func appendTimestamp(microsecondsSinceEpoch micros: Int64?) {
        encoder.appendTimestamp(microsecondsSinceEpoch: micros)
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
}
