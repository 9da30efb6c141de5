import PostgresClient
import Testing

@Suite("Transactions", .enabled(if: TestDatabase.isConfigured, TestDatabase.skipReason))
struct TransactionTests {
    struct BodyFailure: Error, Equatable {}

    @Test("a committed transaction keeps its rows and returns the body's value")
    func commit() throws {
        try TestDatabase.withSchema { connection, _ in
            try connection.executeScript("CREATE TABLE t (id int8)")
            let value = try connection.transaction {
                try connection.execute("INSERT INTO t VALUES (1), (2)")
                return "done"
            }
            #expect(value == "done")
            #expect(try connection.execute("SELECT count(*) FROM t").int64(row: 0, column: 0) == 2)
        }
    }

    @Test("a throwing body rolls back and its own error comes out")
    func rollbackOnBodyError() throws {
        try TestDatabase.withSchema { connection, _ in
            try connection.executeScript("CREATE TABLE t (id int8)")
            #expect(throws: BodyFailure()) {
                try connection.transaction {
                    try connection.execute("INSERT INTO t VALUES (1)")
                    throw BodyFailure()
                }
            }
            #expect(try connection.execute("SELECT count(*) FROM t").int64(row: 0, column: 0) == 0)
            // Not left inside a transaction: a new one can start.
            try connection.transaction { try connection.execute("INSERT INTO t VALUES (2)") }
            #expect(try connection.execute("SELECT count(*) FROM t").int64(row: 0, column: 0) == 1)
        }
    }

    @Test("a failing statement rolls back earlier statements of the transaction")
    func rollbackOnStatementError() throws {
        try TestDatabase.withSchema { connection, _ in
            try connection.executeScript("CREATE TABLE t (id int8 PRIMARY KEY)")
            let error = try #require(throws: PostgresError.self) {
                try connection.transaction {
                    try connection.execute("INSERT INTO t VALUES (1)")
                    try connection.execute("INSERT INTO t VALUES (1)")
                }
            }
            #expect(error.sqlState == "23505")
            #expect(try connection.execute("SELECT count(*) FROM t").int64(row: 0, column: 0) == 0)
        }
    }

    @Test("a swallowed statement error makes COMMIT report the rollback")
    func swallowedErrorIsReported() throws {
        try TestDatabase.withSchema { connection, _ in
            try connection.executeScript("CREATE TABLE t (id int8 PRIMARY KEY)")
            let error = try #require(throws: PostgresError.self) {
                try connection.transaction {
                    try connection.execute("INSERT INTO t VALUES (1)")
                    _ = try? connection.execute("INSERT INTO t VALUES (1)")
                }
            }
            #expect(error.kind == .transactionRolledBack)
            #expect(try connection.execute("SELECT count(*) FROM t").int64(row: 0, column: 0) == 0)
        }
    }

    @Test("nesting is refused without disturbing the outer transaction")
    func nestingIsRefused() throws {
        try TestDatabase.withSchema { connection, _ in
            try connection.executeScript("CREATE TABLE t (id int8)")
            try connection.transaction {
                try connection.execute("INSERT INTO t VALUES (1)")
                let error = try #require(throws: PostgresError.self) {
                    try connection.transaction { try connection.execute("INSERT INTO t VALUES (2)") }
                }
                #expect(error.kind == .invalidArgument)
            }
            #expect(try connection.execute("SELECT count(*) FROM t").int64(row: 0, column: 0) == 1)
        }
    }
}
