import CLibPQ

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// One libpq connection to PostgreSQL.
///
/// All calls block the calling thread until the server answers. Use a connection from one
/// thread or task at a time (it is deliberately not `Sendable`): a long-running program
/// gives each connection its own thread or actor and hands work to it.
///
/// Every session gets `TimeZone = 'UTC'`, `DateStyle = 'ISO, YMD'` and
/// `extra_float_digits = 3`, so timestamps and doubles read back exactly; `reset()`
/// re-applies them and re-issues `LISTEN` for channels being listened to.
public final class PostgresConnection {
    /// nil once closed.
    private(set) var handle: OpaquePointer?
    /// Channels to listen on again after `reset()`, since a new session forgets them.
    var listenedChannels: Set<String> = []
    /// Receives server notices (for example "relation already exists, skipping").
    /// Without one, notices are dropped rather than written to standard error.
    public var noticeHandler: ((String) -> Void)?

    /// Connects and prepares the session.
    ///
    /// - Parameter conninfo: a libpq keyword string (`host=/run/postgresql dbname=cjm`) or URL
    ///   (`postgresql:///cjm`); empty means "all from PG* environment variables and defaults".
    ///   `PGHOST`, `PGPORT`, `PGUSER`, `PGPASSWORD`, `PGDATABASE`, ... fill in anything it
    ///   does not say. `application_name` defaults to `cjmd`; `client_encoding` is always UTF8.
    /// - Throws: `PostgresError` of kind `.connectionFailed` with libpq's reason. The message
    ///   never repeats the conninfo, so it is safe to log even when the conninfo has a password.
    public init(conninfo: String) throws(PostgresError) {
        // Array entries after the expanded conninfo override it, entries before are
        // overridden by it; fallback_application_name yields to PGAPPNAME too.
        let keywords = ["fallback_application_name", "dbname", "client_encoding"]
        let values = ["cjmd", conninfo, "UTF8"]
        handle = Self.connect(keywords: keywords, values: values)
        guard let handle, PQstatus(handle) == CONNECTION_OK else {
            let reason = handle.map { Self.lastErrorText($0) } ?? "out of memory"
            closeHandle()
            throw PostgresError(
                kind: .connectionFailed,
                message: "could not connect to PostgreSQL: \(reason)",
                hint: "check the database URL, that the server is running, and the PG* environment variables",
                connectionWasBad: true)
        }
        PQsetNoticeProcessor(handle, noticeTrampoline, Unmanaged.passUnretained(self).toOpaque())
        do {
            try prepareSession()
        } catch {
            closeHandle()
            throw error
        }
    }

    deinit {
        closeHandle()
    }

    /// Closes the connection. Later calls fail with kind `.connectionClosed`; closing twice
    /// does nothing.
    public func close() {
        closeHandle()
    }

    /// Whether `close()` was called.
    public var isClosed: Bool { handle == nil }

    /// Whether the connection is usable, as far as libpq knows without asking the server.
    public enum Status: Sendable, Equatable {
        /// Connected; the next statement is expected to reach the server.
        case ok
        /// Broken or closed: call `reset()` (or make a new connection).
        case bad
    }

    /// The connection's state as libpq last saw it.
    public var status: Status {
        guard let handle, PQstatus(handle) == CONNECTION_OK else { return .bad }
        return .ok
    }

    /// The server version as a number, for example 150004 for 15.4; 0 when not connected.
    public var serverVersion: Int {
        guard let handle else { return 0 }
        return Int(PQserverVersion(handle))
    }

    /// Closes and re-opens the connection with the same parameters, then prepares the
    /// session again (settings and LISTENs). Any open transaction is lost.
    public func reset() throws(PostgresError) {
        let handle = try requireHandle()
        PQreset(handle)
        guard PQstatus(handle) == CONNECTION_OK else {
            throw PostgresError(
                kind: .connectionFailed,
                message: "could not reconnect to PostgreSQL: \(Self.lastErrorText(handle))",
                connectionWasBad: true)
        }
        try prepareSession()
        for channel in listenedChannels {
            try executeScript("LISTEN \(PostgresIdentifier.quote(channel))")
        }
    }

    // MARK: - Statements

    /// Runs one statement with parameters (`$1`, `$2`, ...) sent separately from the SQL,
    /// so values are never spliced into the statement text.
    ///
    /// - Parameters:
    ///   - sql: exactly one statement.
    ///   - parameters: one value per placeholder; `nil` is SQL `NULL`.
    /// - Returns: the rows (for queries) and the command status.
    /// - Throws: `PostgresError`: `.queryFailed` with `sqlState` when the server rejects the
    ///   statement, `.connectionFailed` when the connection broke, `.invalidArgument` for
    ///   text containing NUL.
    @discardableResult
    public func execute(_ sql: String, _ parameters: [PostgresValue?] = []) throws(PostgresError) -> QueryResult {
        let handle = try requireHandle()
        // All values go into one buffer, NUL-terminated, so a call allocates a fixed few
        // arrays however many parameters it has.
        var buffer: [UInt8] = []
        var offsets: [Int?] = []
        var types: [UInt32] = []
        offsets.reserveCapacity(parameters.count)
        types.reserveCapacity(parameters.count)
        for parameter in parameters {
            guard let parameter else {
                offsets.append(nil)
                types.append(0)
                continue
            }
            offsets.append(buffer.count)
            types.append(parameter.typeOID)
            try parameter.appendTextFormat(to: &buffer)
            buffer.append(0)
        }
        let result = buffer.withUnsafeBufferPointer { bytes in
            let base = bytes.baseAddress.map { UnsafeRawPointer($0).assumingMemoryBound(to: CChar.self) }
            let pointers: [UnsafePointer<CChar>?] = offsets.map { offset in offset.flatMap { base?.advanced(by: $0) } }
            return PQexecParams(handle, sql, Int32(parameters.count), types, pointers, nil, nil, 0)
        }
        return try checkedResult(result, handle: handle, sql: sql, failureKind: .queryFailed)
    }

    /// Runs SQL that may hold several statements separated by semicolons (for migrations),
    /// without parameters. Statements not wrapped in an explicit BEGIN/COMMIT run as one
    /// implicit transaction; the first failing statement stops the script and is reported.
    public func executeScript(_ sql: String) throws(PostgresError) {
        let handle = try requireHandle()
        _ = try checkedResult(PQexec(handle, sql), handle: handle, sql: sql, failureKind: .queryFailed)
    }

    // MARK: - Internals shared by the other files

    func requireHandle() throws(PostgresError) -> OpaquePointer {
        guard let handle else {
            throw PostgresError(
                kind: .connectionClosed, message: "the connection was closed; open a new one")
        }
        return handle
    }

    /// Turns a libpq result into a `QueryResult` or the error it carries.
    func checkedResult(
        _ result: OpaquePointer?, handle: OpaquePointer, sql: String, failureKind: PostgresError.Kind
    ) throws(PostgresError) -> QueryResult {
        guard let result else {
            throw Self.connectionError(handle, kind: failureKind, sql: sql)
        }
        switch PQresultStatus(result) {
        case PGRES_COMMAND_OK, PGRES_TUPLES_OK, PGRES_EMPTY_QUERY:
            return QueryResult(taking: result)
        case PGRES_COPY_IN, PGRES_COPY_OUT, PGRES_COPY_BOTH:
            PQclear(result)
            abandonCopy(handle)
            throw PostgresError(
                kind: .protocolViolation,
                message: "the statement started a COPY; use copyIn(_:rows:) for COPY FROM STDIN",
                statement: sql)
        default:
            let error = Self.error(from: result, handle: handle, kind: failureKind, sql: sql)
            PQclear(result)
            throw error
        }
    }

    /// Leaves COPY mode after a statement unexpectedly entered it, so the connection stays
    /// usable: ends a COPY IN with a failure, discards COPY OUT data, then drains results.
    func abandonCopy(_ handle: OpaquePointer) {
        _ = PQputCopyEnd(handle, "cjmd: COPY not expected here")
        var row: UnsafeMutablePointer<CChar>?
        while PQgetCopyData(handle, &row, 0) > 0 {
            PQfreemem(row)
            row = nil
        }
        while let leftover = PQgetResult(handle) {
            let status = PQresultStatus(leftover)
            PQclear(leftover)
            if status == PGRES_COPY_IN || status == PGRES_COPY_OUT || status == PGRES_COPY_BOTH { break }
        }
    }

    /// Builds an error from a failed result, with the server's diagnostic fields.
    static func error(
        from result: OpaquePointer, handle: OpaquePointer, kind: PostgresError.Kind, sql: String?
    ) -> PostgresError {
        func field(_ code: Character) -> String? {
            guard let ascii = code.asciiValue, let text = PQresultErrorField(result, Int32(ascii)) else {
                return nil
            }
            let value = String(cString: text)
            return value.isEmpty ? nil : value
        }
        let bad = PQstatus(handle) != CONNECTION_OK
        let fullText = PQresultErrorMessage(result).map { String(cString: $0) } ?? ""
        let message = field("M") ?? Self.trimmed(fullText.isEmpty ? lastErrorText(handle) : fullText)
        return PostgresError(
            kind: bad ? .connectionFailed : kind,
            message: message,
            sqlState: field("C"),
            detail: field("D"),
            hint: field("H"),
            context: field("W").map(Self.trimmed),
            statement: sql,
            connectionWasBad: bad)
    }

    /// An error from the connection's own message, when libpq produced no result.
    static func connectionError(_ handle: OpaquePointer, kind: PostgresError.Kind, sql: String?) -> PostgresError {
        let bad = PQstatus(handle) != CONNECTION_OK
        return PostgresError(
            kind: bad ? .connectionFailed : kind,
            message: lastErrorText(handle),
            statement: sql,
            connectionWasBad: bad)
    }

    static func lastErrorText(_ handle: OpaquePointer) -> String {
        guard let text = PQerrorMessage(handle) else { return "unknown libpq error" }
        let trimmedText = trimmed(String(cString: text))
        return trimmedText.isEmpty ? "unknown libpq error" : trimmedText
    }

    /// libpq messages end with a newline and may continue on tab-indented lines; keep them
    /// on one line for logs.
    static func trimmed(_ text: String) -> String {
        text.split(whereSeparator: \.isNewline)
            .map { $0.drop(while: \.isWhitespace) }
            .filter { !$0.isEmpty }
            .joined(separator: " ")
    }

    private static func connect(keywords: [String], values: [String]) -> OpaquePointer? {
        let keywordPointers = keywords.map { strdup($0) }
        let valuePointers = values.map { strdup($0) }
        defer {
            keywordPointers.forEach { free($0) }
            valuePointers.forEach { free($0) }
        }
        let keywordArray: [UnsafePointer<CChar>?] = keywordPointers.map { $0.map { UnsafePointer($0) } } + [nil]
        let valueArray: [UnsafePointer<CChar>?] = valuePointers.map { $0.map { UnsafePointer($0) } } + [nil]
        return PQconnectdbParams(keywordArray, valueArray, 1)
    }

    private func prepareSession() throws(PostgresError) {
        try executeScript("SET TimeZone = 'UTC'; SET DateStyle = 'ISO, YMD'; SET extra_float_digits = 3")
    }

    private func closeHandle() {
        guard let handle else { return }
        PQfinish(handle)
        self.handle = nil
    }

    fileprivate func deliverNotice(_ text: String) {
        noticeHandler?(Self.trimmed(text))
    }
}

/// libpq calls this C function for each notice; `context` is the connection, which outlives
/// its PGconn because `deinit` finishes the PGconn first.
private func noticeTrampoline(context: UnsafeMutableRawPointer?, message: UnsafePointer<CChar>?) {
    guard let context, let message else { return }
    let connection = Unmanaged<PostgresConnection>.fromOpaque(context).takeUnretainedValue()
    connection.deliverNotice(String(cString: message))
}
