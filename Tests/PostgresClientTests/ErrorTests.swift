import PostgresClient
import Testing

@Suite("Errors", .enabled(if: TestDatabase.isConfigured, TestDatabase.skipReason))
struct ErrorTests {
    @Test("a unique violation carries SQLSTATE 23505 and the server's detail")
    func uniqueViolation() throws {
        try TestDatabase.withSchema { connection, _ in
            try connection.executeScript("CREATE TABLE items (id int8 PRIMARY KEY)")
            try connection.execute("INSERT INTO items VALUES ($1)", [.int(1)])
            let error = try #require(throws: PostgresError.self) {
                try connection.execute("INSERT INTO items VALUES ($1)\n-- second line", [.int(1)])
            }
            #expect(error.kind == .queryFailed)
            #expect(error.sqlState == "23505")
            #expect(error.detail?.contains("already exists") == true)
            #expect(error.statement == "INSERT INTO items VALUES ($1)")
            #expect(!error.isConnectionProblem)
            #expect(String(describing: error).contains("23505"))
            // The connection is still usable after a failed statement.
            #expect(try connection.execute("SELECT count(*) FROM items").int64(row: 0, column: 0) == 1)
        }
    }

    @Test("a syntax error carries SQLSTATE 42601")
    func syntaxError() throws {
        let connection = try TestDatabase.connect()
        let error = try #require(throws: PostgresError.self) { try connection.execute("SELEC 1") }
        #expect(error.sqlState == "42601")
        #expect(error.message.contains("syntax error"))
        #expect(!error.isConnectionProblem)
    }

    @Test("an unknown table carries SQLSTATE 42P01, also from a script")
    func undefinedTable() throws {
        let connection = try TestDatabase.connect()
        let error = try #require(throws: PostgresError.self) {
            try connection.execute("SELECT * FROM \(TestDatabase.uniqueName("missing"))")
        }
        #expect(error.sqlState == "42P01")
        let scriptError = try #require(throws: PostgresError.self) {
            try connection.executeScript("SELECT 1;\nSELECT * FROM \(TestDatabase.uniqueName("missing"));")
        }
        #expect(scriptError.sqlState == "42P01")
        #expect(scriptError.statement == "SELECT 1;")
    }

    @Test("a hint from the server is kept")
    func hintIsKept() throws {
        let connection = try TestDatabase.connect()
        let error = try #require(throws: PostgresError.self) {
            try connection.execute("SELECT 1 + '1'::text")
        }
        #expect(error.sqlState == "42883")
        #expect(error.hint?.isEmpty == false)
    }

    @Test("connecting to a missing socket fails with connectionFailed and no password in the message")
    func connectionFailure() throws {
        let socketDirectory = "/nonexistent/\(TestDatabase.uniqueName("socket"))"
        let conninfo = Conninfo.make([
            "host": socketDirectory, "port": "5999", "user": "u", "password": "hunter2-secret",
        ])
        let error = try #require(throws: PostgresError.self) { try PostgresConnection(conninfo: conninfo) }
        #expect(error.kind == .connectionFailed)
        #expect(error.isConnectionProblem)
        #expect(error.message.contains(socketDirectory))
        #expect(error.message.contains("No such file or directory"))
        #expect(!String(describing: error).contains("hunter2-secret"))
    }

    @Test("a malformed conninfo fails with connectionFailed")
    func malformedConninfo() throws {
        let error = try #require(throws: PostgresError.self) { try PostgresConnection(conninfo: "host='unterminated") }
        #expect(error.kind == .connectionFailed)
        #expect(!error.message.isEmpty)
    }

    @Test("a terminated session reports a connection problem and reset() recovers")
    func terminatedSessionAndReset() throws {
        let victim = try TestDatabase.connect()
        let channel = TestDatabase.uniqueName("chan")
        try victim.listen(channel: channel)
        let pid = try #require(try victim.execute("SELECT pg_backend_pid()").int64(row: 0, column: 0))
        let killer = try TestDatabase.connect()
        try killer.execute("SELECT pg_terminate_backend($1::int4)", [.int(pid)])

        let error = try #require(throws: PostgresError.self) { try victim.execute("SELECT 1") }
        #expect(error.isConnectionProblem)
        #expect(victim.status == .bad)

        try victim.reset()
        #expect(victim.status == .ok)
        let newPid = try victim.execute("SELECT pg_backend_pid()").int64(row: 0, column: 0)
        #expect(newPid != pid)
        #expect(victim.serverVersion >= 100_000)
        // Session settings and LISTEN come back after the reset.
        #expect(try victim.execute("SHOW TimeZone").string(row: 0, column: 0) == "UTC")
        try killer.notify(channel: channel, payload: "after reset")
        #expect(try victim.waitForNotification(timeout: .seconds(5))?.payload == "after reset")
    }

    @Test("a closed connection refuses work with connectionClosed")
    func closedConnection() throws {
        let connection = try TestDatabase.connect()
        connection.close()
        connection.close()
        #expect(connection.isClosed)
        #expect(connection.status == .bad)
        let error = try #require(throws: PostgresError.self) { try connection.execute("SELECT 1") }
        #expect(error.kind == .connectionClosed)
        #expect(error.isConnectionProblem)
    }

    @Test("connection-class SQLSTATEs count as connection problems, data errors do not")
    func connectionProblemClassification() {
        for state in ["08006", "08003", "57P01", "57P02", "57P03"] {
            #expect(PostgresError(kind: .queryFailed, message: "x", sqlState: state).isConnectionProblem, "\(state)")
        }
        for state in ["23505", "22P02", "42601", "57014", "40001"] {
            #expect(!PostgresError(kind: .queryFailed, message: "x", sqlState: state).isConnectionProblem, "\(state)")
        }
    }
}
