import CLibPQ

extension PostgresConnection {
    /// Runs `body` inside `BEGIN` ... `COMMIT`, rolling back when it throws.
    ///
    /// - Returns: what `body` returns, once the transaction committed.
    /// - Throws: the body's own error, unchanged (after `ROLLBACK`); a `PostgresError` when
    ///   BEGIN or COMMIT fails; kind `.transactionRolledBack` when COMMIT answered ROLLBACK
    ///   because a statement inside failed and the body swallowed that error. If COMMIT fails
    ///   with `isConnectionProblem`, whether the transaction committed is unknown: make the
    ///   work idempotent (for example `ON CONFLICT DO NOTHING`) before retrying it.
    ///   Nesting is not supported: calling this inside a transaction throws `.invalidArgument`.
    @discardableResult
    public func transaction<T>(_ body: () throws -> T) throws -> T {
        let handle = try requireHandle()
        guard PQtransactionStatus(handle) == PQTRANS_IDLE else {
            throw PostgresError(
                kind: .invalidArgument,
                message: "a transaction is already open on this connection; nested transactions are not supported")
        }
        try execute("BEGIN")
        let value: T
        do {
            value = try body()
        } catch {
            rollBackQuietly()
            throw error
        }
        let commit = try execute("COMMIT")
        if commit.commandStatus == "ROLLBACK" {
            throw PostgresError(
                kind: .transactionRolledBack,
                message:
                    "COMMIT rolled the transaction back because a statement inside it had failed; let that error propagate out of the transaction body",
                sqlState: "40000")
        }
        return value
    }

    /// Best effort: the body's error is what the caller needs to see, and a broken
    /// connection has already lost the transaction anyway.
    private func rollBackQuietly() {
        guard let handle, PQstatus(handle) == CONNECTION_OK,
            PQtransactionStatus(handle) != PQTRANS_IDLE
        else { return }
        PQclear(PQexec(handle, "ROLLBACK"))
    }
}
