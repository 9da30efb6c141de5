/// An error from PostgreSQL or from libpq, with enough structure for a caller to decide
/// whether to reconnect and retry, or to give up on the data (dead-letter it).
///
/// Messages come from the server or libpq and never contain the connection string, so they
/// are safe to log. `detail` may contain row values (for example the duplicated key).
public struct PostgresError: Error, Sendable, CustomStringConvertible {
    /// What kind of operation failed. A struct rather than an enum so new kinds can be added
    /// without breaking callers that switch over it.
    public struct Kind: Hashable, Sendable, CustomStringConvertible {
        private enum Code: String, Sendable {
            case connectionFailed, connectionClosed, queryFailed, copyFailed
            case protocolViolation, invalidArgument, decodingFailed, transactionRolledBack
        }

        private let code: Code
        private init(_ code: Code) { self.code = code }

        /// Could not establish (or re-establish) a connection, or the connection broke.
        public static let connectionFailed = Kind(.connectionFailed)
        /// The connection was closed with `close()` and cannot be used any more.
        public static let connectionClosed = Kind(.connectionClosed)
        /// The server rejected a statement; see `sqlState`.
        public static let queryFailed = Kind(.queryFailed)
        /// A `COPY ... FROM STDIN` failed: the server rejected data, or sending it failed.
        public static let copyFailed = Kind(.copyFailed)
        /// The server or libpq answered in a way this client does not expect
        /// (for example a statement passed to `copyIn` that does not start a COPY).
        public static let protocolViolation = Kind(.protocolViolation)
        /// An argument cannot be sent to PostgreSQL (for example a NUL byte in text).
        public static let invalidArgument = Kind(.invalidArgument)
        /// A result value does not have the requested type's text format.
        public static let decodingFailed = Kind(.decodingFailed)
        /// `COMMIT` answered `ROLLBACK` because an error inside the transaction was swallowed.
        public static let transactionRolledBack = Kind(.transactionRolledBack)

        /// The kind's name, for logs.
        public var description: String { code.rawValue }
    }

    /// What kind of operation failed.
    public var kind: Kind
    /// The five-character SQLSTATE from the server (for example `23505`), when there is one.
    public var sqlState: String?
    /// The primary message, one line, from the server or libpq.
    public var message: String
    /// The server's optional detail line.
    public var detail: String?
    /// The server's optional hint on how to fix the problem.
    public var hint: String?
    /// Where in the server it happened, such as `COPY events, line 5001, column id: "x"`,
    /// which names the offending row of a COPY.
    public var context: String?
    /// The first line of the SQL that failed, to find the statement without logging values.
    public var statement: String?
    /// Whether libpq reported the connection as broken when the error happened.
    public var connectionWasBad: Bool

    /// Creates an error; the client builds these, tests and callers may build them to fake one.
    public init(
        kind: Kind, message: String, sqlState: String? = nil, detail: String? = nil,
        hint: String? = nil, context: String? = nil, statement: String? = nil, connectionWasBad: Bool = false
    ) {
        self.kind = kind
        self.message = message
        self.sqlState = sqlState
        self.detail = detail
        self.hint = hint
        self.context = context
        self.statement = statement.map(Self.firstLine(of:))
        self.connectionWasBad = connectionWasBad
    }

    /// True when the fault is with the connection or server, not with the statement or data:
    /// reconnecting and retrying may succeed. False means retrying the same data will fail
    /// again (constraint violation, bad syntax, bad value): dead-letter it instead.
    public var isConnectionProblem: Bool {
        if kind == .connectionFailed || kind == .connectionClosed || connectionWasBad { return true }
        guard let sqlState else { return false }
        // Class 08: connection exception. 57P01..57P03: admin shutdown, crash shutdown,
        // cannot connect now (server starting or in recovery).
        return sqlState.hasPrefix("08") || ["57P01", "57P02", "57P03"].contains(sqlState)
    }

    /// Everything on one line, for logs: `queryFailed 23505: duplicate key ... (detail: ...)`.
    public var description: String {
        var text = "\(kind)"
        if let sqlState { text += " \(sqlState)" }
        text += ": \(message)"
        if let detail { text += " (detail: \(detail))" }
        if let hint { text += " (hint: \(hint))" }
        if let context { text += " (context: \(context))" }
        if let statement { text += " [statement: \(statement)]" }
        return text
    }

    /// Only the first line, trimmed and capped, so a long migration or generated statement
    /// does not flood logs.
    static func firstLine(of sql: String) -> String {
        let line =
            sql.split(whereSeparator: \.isNewline)
            .first(where: { !$0.allSatisfy(\.isWhitespace) }) ?? ""
        let trimmed = line.drop(while: \.isWhitespace)
        let limit = 200
        return trimmed.count > limit ? String(trimmed.prefix(limit)) + "…" : String(trimmed)
    }
}
