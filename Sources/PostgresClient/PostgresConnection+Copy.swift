import CLibPQ

extension PostgresConnection {
    /// Runs `COPY table (columns) FROM STDIN` and streams the rows `rows` writes.
    ///
    /// ```swift
    /// let copied = try connection.copyIn("COPY cjm.events (id, name) FROM STDIN") { writer in
    ///     for event in events {
    ///         writer.appendInteger(event.id)
    ///         writer.appendText(event.name)
    ///         try writer.endRow()
    ///     }
    /// }
    /// ```
    ///
    /// The statement must use the default text format. Rows are buffered and sent in chunks
    /// of `bufferSize` bytes. COPY is all or nothing: on any error no row is stored, and the
    /// connection is left ready for the next statement.
    ///
    /// - Returns: the number of rows the server stored.
    /// - Throws: the error `rows` threw (after aborting the COPY); otherwise `PostgresError`
    ///   of kind `.copyFailed` with the server's `sqlState` (for example `22P02` for a
    ///   malformed value) and `context` naming the line (row number from 1) and column,
    ///   or `.connectionFailed`.
    @discardableResult
    public func copyIn(
        _ sql: String, bufferSize: Int = 256 * 1024, rows: (inout CopyInWriter) throws -> Void
    ) throws -> Int {
        let handle = try requireHandle()
        try startCopyIn(handle, sql: sql)
        var writer = CopyInWriter(handle: handle, bufferSize: bufferSize)
        var failure: (any Error)?
        do {
            try rows(&writer)
            try writer.flush()
        } catch {
            failure = error
        }
        return try endCopyIn(handle, sql: sql, failure: failure, sendFailed: writer.sendFailed)
    }

    /// Runs `COPY table (columns) FROM STDIN (FORMAT binary)` and streams the rows `rows`
    /// writes, each value in the binary format of its column's type (see
    /// `CopyBinaryEncoder`). Otherwise as `copyIn(_:bufferSize:rows:)`: all or nothing, the
    /// same errors.
    @discardableResult
    public func copyInBinary(
        _ sql: String, bufferSize: Int = 256 * 1024, rows: (inout BinaryCopyInWriter) throws -> Void
    ) throws -> Int {
        let handle = try requireHandle()
        try startCopyIn(handle, sql: sql)
        var writer = BinaryCopyInWriter(handle: handle, bufferSize: bufferSize)
        var failure: (any Error)?
        do {
            try rows(&writer)
            try writer.finish()
        } catch {
            failure = error
        }
        return try endCopyIn(handle, sql: sql, failure: failure, sendFailed: writer.sendFailed)
    }

    /// Ends a COPY FROM STDIN whose rows were sent, or aborts it when sending them failed
    /// (`failure`), and returns the server's row count or throws its error.
    private func endCopyIn(_ handle: OpaquePointer, sql: String, failure: (any Error)?, sendFailed: Bool) throws -> Int
    {
        if let failure {
            // The server stops at CopyFail; its answer (if any) explains a failed send.
            _ = PQputCopyEnd(handle, "cjmd: COPY aborted by the client")
            let serverResult = collectCopyResult(handle, sql: sql)
            if sendFailed, case .failure(let serverError) = serverResult { throw serverError }
            throw failure
        }
        guard PQputCopyEnd(handle, nil) == 1 else {
            if case .failure(let serverError) = collectCopyResult(handle, sql: sql) { throw serverError }
            throw Self.connectionError(handle, kind: .copyFailed, sql: sql)
        }
        return try collectCopyResult(handle, sql: sql).get()
    }

    /// Sends `bytes` as COPY data and pushes libpq's own buffer too, so the server has every
    /// row sent; false when the connection broke.
    static func sendCopyData(_ handle: OpaquePointer, _ bytes: [UInt8]) -> Bool {
        let sent = bytes.withUnsafeBytes { raw in
            PQputCopyData(handle, raw.baseAddress?.assumingMemoryBound(to: CChar.self), Int32(raw.count))
        }
        return sent == 1 && PQflush(handle) == 0
    }

    private func startCopyIn(_ handle: OpaquePointer, sql: String) throws(PostgresError) {
        guard let start = PQexec(handle, sql) else {
            throw Self.connectionError(handle, kind: .copyFailed, sql: sql)
        }
        let status = PQresultStatus(start)
        if status == PGRES_COPY_IN {
            PQclear(start)
            return
        }
        if status == PGRES_FATAL_ERROR || status == PGRES_BAD_RESPONSE {
            let error = Self.error(from: start, handle: handle, kind: .copyFailed, sql: sql)
            PQclear(start)
            throw error
        }
        PQclear(start)
        if status == PGRES_COPY_OUT || status == PGRES_COPY_BOTH { abandonCopy(handle) }
        throw PostgresError(
            kind: .protocolViolation,
            message: "copyIn needs a COPY ... FROM STDIN statement; this one did not start one",
            statement: sql)
    }

    /// Reads every result after the end of the data: the row count, or the first error.
    /// Draining all results is what returns the connection to the idle state.
    private func collectCopyResult(_ handle: OpaquePointer, sql: String) -> Result<Int, PostgresError> {
        var firstError: PostgresError?
        var rowCount: Int?
        while let result = PQgetResult(handle) {
            let status = PQresultStatus(result)
            switch status {
            case PGRES_COMMAND_OK:
                rowCount = QueryResult(taking: result).affectedRows
                continue
            case PGRES_COPY_IN, PGRES_COPY_OUT, PGRES_COPY_BOTH:
                // Still in COPY: ending it failed, so the connection is unusable. Stop here
                // rather than loop forever.
                PQclear(result)
                return .failure(firstError ?? Self.connectionError(handle, kind: .copyFailed, sql: sql))
            default:
                if firstError == nil {
                    firstError = Self.error(from: result, handle: handle, kind: .copyFailed, sql: sql)
                }
                PQclear(result)
            }
        }
        if let firstError { return .failure(firstError) }
        guard let rowCount else { return .failure(Self.connectionError(handle, kind: .copyFailed, sql: sql)) }
        return .success(rowCount)
    }
}
