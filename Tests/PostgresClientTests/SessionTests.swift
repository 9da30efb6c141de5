import PostgresClient
import Testing

@Suite("Conninfo quoting")
struct ConninfoTests {
    @Test("values are single-quoted with quotes and backslashes escaped")
    func quoting() {
        #expect(Conninfo.quote("plain") == "'plain'")
        #expect(Conninfo.quote("") == "''")
        #expect(Conninfo.quote("it's a \\ path") == #"'it\'s a \\ path'"#)
        #expect(Conninfo.make(["host": "/tmp/a b", "dbname": "x"]) == "host='/tmp/a b' dbname='x'")
    }

    @Test("identifiers are double-quoted with quotes doubled")
    func identifiers() {
        #expect(PostgresIdentifier.quote("events") == "\"events\"")
        #expect(PostgresIdentifier.quote("we\"ird") == "\"we\"\"ird\"")
    }
}

@Suite("Session setup", .enabled(if: TestDatabase.isConfigured, TestDatabase.skipReason))
struct SessionTests {
    @Test("sessions are UTF8, UTC, ISO dates and named cjmd unless told otherwise")
    func defaults() throws {
        let connection = try TestDatabase.connect()
        let result = try connection.execute(
            "SELECT current_setting('client_encoding'), current_setting('TimeZone'), current_setting('DateStyle'), current_setting('application_name')"
        )
        #expect(result.string(row: 0, column: 0) == "UTF8")
        #expect(result.string(row: 0, column: 1) == "UTC")
        #expect(result.string(row: 0, column: 2)?.hasPrefix("ISO") == true)
        #expect(result.string(row: 0, column: 3) == "cjmd")
        #expect(connection.status == .ok)
        #expect(connection.serverVersion >= 100_000)
    }

    @Test("a quoted conninfo value reaches the server intact and overrides the default name")
    func quotedApplicationName() throws {
        let base = try #require(TestDatabase.conninfo)
        let name = "it's a \\ test"
        let connection = try PostgresConnection(conninfo: base + " " + Conninfo.make(["application_name": name]))
        #expect(try connection.execute("SHOW application_name").string(row: 0, column: 0) == name)
    }

    @Test("server notices go to the notice handler")
    func notices() throws {
        let connection = try TestDatabase.connect()
        final class Box { var notices: [String] = [] }
        let box = Box()
        connection.noticeHandler = { box.notices.append($0) }
        try connection.executeScript("DO $$ BEGIN RAISE NOTICE 'hello from plpgsql'; END $$")
        #expect(box.notices.count == 1)
        #expect(box.notices.first?.contains("hello from plpgsql") == true)
    }

    @Test("affectedRows and commandStatus report what the command did")
    func commandCounts() throws {
        try TestDatabase.withSchema { connection, _ in
            try connection.executeScript("CREATE TABLE t (id int8)")
            let insert = try connection.execute("INSERT INTO t SELECT generate_series(1, $1::int4)", [.int(5)])
            #expect(insert.affectedRows == 5)
            #expect(insert.commandStatus == "INSERT 0 5")
            let delete = try connection.execute("DELETE FROM t WHERE id > $1", [.int(2)])
            #expect(delete.affectedRows == 3)
            let create = try connection.execute("CREATE INDEX ON t (id)")
            #expect(create.affectedRows == 0)
            #expect(create.rowCount == 0)
        }
    }
}
