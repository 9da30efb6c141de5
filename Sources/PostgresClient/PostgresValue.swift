/// A statement parameter. Parameters travel separately from the SQL text (PQexecParams),
/// so values never need quoting and can never change the statement.
///
/// Pass `nil` in the parameter array for SQL `NULL`.
public enum PostgresValue: Sendable, Hashable {
    /// Text; sent with type "unknown" so the server infers the type from context
    /// (text, varchar, jsonb, uuid, enum, ...). Must not contain NUL, which PostgreSQL text
    /// cannot store.
    case text(String)
    /// A 64-bit integer, sent as `int8` (assignable to smallint/integer/numeric columns).
    case int(Int64)
    /// A double, sent as `float8`; NaN and infinities are preserved.
    case double(Double)
    /// A boolean, sent as `bool`.
    case bool(Bool)
    /// Raw bytes, sent as `bytea`.
    case bytea([UInt8])
    /// A point in time as microseconds since 1970-01-01 00:00:00 UTC, sent as `timestamptz`.
    /// Into a `timestamp` (without time zone) column it lands as the UTC wall-clock time.
    case timestamp(microsecondsSinceEpoch: Int64)

    /// The parameter type OID sent to the server. Zero lets the server infer it.
    var typeOID: UInt32 {
        switch self {
        case .text: 0
        case .int: 20  // int8
        case .double: 701  // float8
        case .bool: 16  // bool
        case .bytea: 17  // bytea
        case .timestamp: 1184  // timestamptz
        }
    }

    /// Appends the value in PostgreSQL's text input format (without a terminator).
    func appendTextFormat(to buffer: inout [UInt8]) throws(PostgresError) {
        if case .text(let string) = self {
            let start = buffer.count
            buffer.append(contentsOf: string.utf8)
            if buffer[start...].contains(0) {
                buffer.removeSubrange(start...)
                throw PostgresError(
                    kind: .invalidArgument,
                    message:
                        "a text parameter contains a NUL character, which PostgreSQL text cannot store; remove it or send the value as bytea"
                )
            }
            return
        }
        // Borrow the buffer (no copy) for the encoder's number and timestamp formatting.
        var encoder = CopyTextEncoder(adopting: buffer)
        buffer = []
        switch self {
        case .text: break
        case .int(let value): encoder.appendRawInteger(value)
        case .double(let value): encoder.appendRawDouble(value)
        case .bool(let value): encoder.appendRaw(value ? UInt8(ascii: "t") : UInt8(ascii: "f"))
        case .bytea(let bytes): encoder.appendRawByteaHex(bytes, backslashes: 1)
        case .timestamp(let micros): encoder.appendRawTimestamp(microsecondsSinceEpoch: micros)
        }
        buffer = encoder.takeBytes()
    }
}

extension PostgresValue: ExpressibleByStringLiteral, ExpressibleByIntegerLiteral,
    ExpressibleByFloatLiteral, ExpressibleByBooleanLiteral
{
    /// `"abc"` in a parameter list means `.text("abc")`.
    public init(stringLiteral value: String) { self = .text(value) }
    /// `42` in a parameter list means `.int(42)`.
    public init(integerLiteral value: Int64) { self = .int(value) }
    /// `1.5` in a parameter list means `.double(1.5)`.
    public init(floatLiteral value: Double) { self = .double(value) }
    /// `true` in a parameter list means `.bool(true)`.
    public init(booleanLiteral value: Bool) { self = .bool(value) }
}
