import CLibPQ

/// The rows and command status of one statement, with values in PostgreSQL's text format
/// and typed accessors that parse them.
///
/// Row and column indexes start at 0 and must be in range (like array indexes; out of range
/// is a programming error and traps). Typed accessors return nil for SQL `NULL` and throw
/// `PostgresError` (kind `.decodingFailed`) when the text is not of the requested type.
///
/// Sendable: libpq results are read-only after creation and may be read from any thread.
public final class QueryResult: @unchecked Sendable {
    private let result: OpaquePointer
    /// Number of rows returned.
    public let rowCount: Int
    /// Number of columns returned.
    public let columnCount: Int

    /// Takes ownership of `result`; it is freed when this object goes away.
    init(taking result: OpaquePointer) {
        self.result = result
        rowCount = Int(PQntuples(result))
        columnCount = Int(PQnfields(result))
    }

    deinit {
        PQclear(result)
    }

    /// Rows inserted, updated, deleted, copied, selected, ... as reported by the server;
    /// 0 for commands that report no count.
    public var affectedRows: Int {
        guard let text = PQcmdTuples(result) else { return 0 }
        return Int(String(cString: text)) ?? 0
    }

    /// The command tag, such as `INSERT 0 1` or `COMMIT` (`ROLLBACK` when a COMMIT found
    /// the transaction already failed).
    public var commandStatus: String {
        guard let text = PQcmdStatus(result) else { return "" }
        return String(cString: text)
    }

    /// The name of a column as the query labelled it.
    public func columnName(_ column: Int) -> String {
        checkColumn(column)
        guard let name = PQfname(result, Int32(column)) else { return "" }
        return String(cString: name)
    }

    /// The index of the first column with this name, if any.
    public func columnIndex(named name: String) -> Int? {
        (0..<columnCount).first { columnName($0) == name }
    }

    /// The type OID of a column (for example 20 for int8, 25 for text).
    public func columnTypeOID(_ column: Int) -> UInt32 {
        checkColumn(column)
        return PQftype(result, Int32(column))
    }

    /// Whether a value is SQL `NULL`.
    public func isNull(row: Int, column: Int) -> Bool {
        checkCell(row, column)
        return PQgetisnull(result, Int32(row), Int32(column)) == 1
    }

    /// A value as text, or nil for `NULL`. Invalid UTF-8 (impossible with a UTF8 connection)
    /// would be repaired with U+FFFD.
    public func string(row: Int, column: Int) -> String? {
        withText(row: row, column: column) { text, _ in String(decoding: text, as: UTF8.self) }
    }

    /// An integer value (`int2`, `int4`, `int8`, or any text that is a decimal integer).
    public func int64(row: Int, column: Int) throws(PostgresError) -> Int64? {
        try decode(row: row, column: column, as: "an integer") { text, _ in TextFormatParsing.int64(text) }
    }

    /// A floating-point value (`float4`, `float8`, `numeric`), including NaN and infinities.
    public func double(row: Int, column: Int) throws(PostgresError) -> Double? {
        try decode(row: row, column: column, as: "a number") { text, _ in TextFormatParsing.double(text) }
    }

    /// A `bool` value.
    public func bool(row: Int, column: Int) throws(PostgresError) -> Bool? {
        try decode(row: row, column: column, as: "a boolean") { text, _ in TextFormatParsing.bool(text) }
    }

    /// A `bytea` value as raw bytes.
    public func bytea(row: Int, column: Int) throws(PostgresError) -> [UInt8]? {
        try decode(row: row, column: column, as: "bytea") { _, pointer in
            var length = 0
            guard
                let unescaped = pointer.withMemoryRebound(to: UInt8.self, capacity: 1, { PQunescapeBytea($0, &length) })
            else { return nil }
            defer { PQfreemem(unescaped) }
            return Array(UnsafeBufferPointer(start: unescaped, count: length))
        }
    }

    /// A `timestamptz`, `timestamp` or `date` value as microseconds since 1970-01-01 UTC.
    /// Relies on the ISO DateStyle the connection sets; a `timestamp` without time zone is
    /// taken as UTC. `infinity`/`-infinity` map to `Int64.max`/`Int64.min`.
    public func timestampMicroseconds(row: Int, column: Int) throws(PostgresError) -> Int64? {
        try decode(row: row, column: column, as: "a timestamp") { text, _ in
            TextFormatParsing.timestampMicroseconds(text)
        }
    }

    // MARK: - Helpers

    /// Calls `body` with the value's bytes (and the NUL-terminated pointer libpq guarantees),
    /// or returns nil for NULL.
    private func withText<T>(
        row: Int, column: Int, _ body: (UnsafeBufferPointer<UInt8>, UnsafePointer<CChar>) -> T?
    ) -> T? {
        checkCell(row, column)
        let (r, c) = (Int32(row), Int32(column))
        guard PQgetisnull(result, r, c) == 0, let pointer = PQgetvalue(result, r, c) else { return nil }
        let length = Int(PQgetlength(result, r, c))
        return pointer.withMemoryRebound(to: UInt8.self, capacity: length + 1) { bytes in
            body(UnsafeBufferPointer(start: bytes, count: length), UnsafePointer(pointer))
        }
    }

    private func decode<T>(
        row: Int, column: Int, as typeName: String,
        _ parse: (UnsafeBufferPointer<UInt8>, UnsafePointer<CChar>) -> T?
    ) throws(PostgresError) -> T? {
        if isNull(row: row, column: column) { return nil }
        if let value = withText(row: row, column: column, parse) { return value }
        let shown = string(row: row, column: column).map { $0.count > 40 ? $0.prefix(40) + "…" : $0 } ?? ""
        throw PostgresError(
            kind: .decodingFailed,
            message:
                "row \(row), column \"\(columnName(column))\": \"\(shown)\" is not \(typeName); cast it in the query or read it as a string"
        )
    }

    private func checkColumn(_ column: Int) {
        precondition(column >= 0 && column < columnCount, "column \(column) out of range 0..<\(columnCount)")
    }

    private func checkCell(_ row: Int, _ column: Int) {
        precondition(row >= 0 && row < rowCount, "row \(row) out of range 0..<\(rowCount)")
        checkColumn(column)
    }
}
