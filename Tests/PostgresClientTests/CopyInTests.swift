import PostgresClient
import Testing

@Suite("COPY FROM STDIN", .enabled(if: TestDatabase.isConfigured, TestDatabase.skipReason))
struct CopyInTests {
    struct Row: Equatable {
        var id: Int64
        var text: String
        var optionalText: String?
        var bytes: [UInt8]
        var number: Double
        var micros: Int64
        var flag: Bool
    }

    static let fragments = [
        "", "\\", "\t", "\n", "\r", "\r\n", "\\N", "\\.", "N", ".", "'", "\"", ",", "|", " ", "😀",
        "日本", "é", "e\u{301}", "Ω", "\u{7F}", "\u{1}", "\u{1B}[0m", "\\x00", "plain words",
    ]

    /// Deterministic rows covering every awkward character in every position.
    static func makeRow(_ index: Int) -> Row {
        let count = fragments.count
        let text =
            fragments[index % count] + fragments[(index / count) % count] + String(index)
            + fragments[(index * 7) % count]
        let optionalText: String? =
            switch index % 6 {
            case 0: nil
            case 1: ""
            default: fragments[(index * 3) % count] + fragments[(index * 5) % count]
            }
        var bytes: [UInt8] = [UInt8(truncatingIfNeeded: index), 0, 92, 10, 9, UInt8(truncatingIfNeeded: index >> 8)]
        if index % 97 == 0 { bytes += (0...255).map(UInt8.init) }
        let number: Double =
            switch index % 50 {
            case 0: .infinity
            case 1: -.infinity
            case 2: -0.0
            default: Double(index) / 7 - 1e6
            }
        return Row(
            id: Int64(index), text: text, optionalText: optionalText, bytes: bytes, number: number,
            micros: Int64(index) * 1_234_567_891 - 1_000_000_000_000_000, flag: index % 3 == 0)
    }

    static let createTable =
        "CREATE TABLE t (id int8 PRIMARY KEY, txt text NOT NULL, opt text, b bytea, d float8, ts timestamptz, flag bool)"

    @Test("100k rows with every awkward character round-trip byte for byte")
    func awkwardRowsRoundTrip() throws {
        try TestDatabase.withSchema { connection, _ in
            try connection.executeScript(Self.createTable)
            let rowCount = 100_000
            let copied = try connection.copyIn("COPY t (id, txt, opt, b, d, ts, flag) FROM STDIN") { writer in
                for index in 0..<rowCount {
                    let row = Self.makeRow(index)
                    writer.appendInteger(row.id)
                    writer.appendText(row.text)
                    writer.appendText(row.optionalText)
                    writer.appendBytea(row.bytes)
                    writer.appendDouble(row.number)
                    writer.appendTimestamp(microsecondsSinceEpoch: row.micros)
                    writer.appendBool(row.flag)
                    try writer.endRow()
                }
                #expect(writer.rowsWritten == rowCount)
            }
            #expect(copied == rowCount)

            // The server's own count of bytes is an oracle independent of our decoding.
            let expectedBytes = (0..<rowCount).reduce(0) { $0 + Self.makeRow($1).text.utf8.count }
            let totals = try connection.execute(
                "SELECT sum(octet_length(txt)), count(*) FILTER (WHERE opt IS NULL) FROM t")
            #expect(try totals.int64(row: 0, column: 0) == Int64(expectedBytes))
            #expect(try totals.int64(row: 0, column: 1) == Int64((rowCount + 5) / 6))

            let result = try connection.execute("SELECT id, txt, opt, b, d, ts, flag FROM t ORDER BY id")
            #expect(result.rowCount == rowCount)
            var mismatches = 0
            for index in 0..<result.rowCount {
                let back = Row(
                    id: try result.int64(row: index, column: 0) ?? -1,
                    text: result.string(row: index, column: 1) ?? "<null>",
                    optionalText: result.string(row: index, column: 2),
                    bytes: try result.bytea(row: index, column: 3) ?? [],
                    number: try result.double(row: index, column: 4) ?? .nan,
                    micros: try result.timestampMicroseconds(row: index, column: 5) ?? -1,
                    flag: try result.bool(row: index, column: 6) ?? false)
                let expected = Self.makeRow(index)
                if back != expected || back.number.sign != expected.number.sign {
                    mismatches += 1
                    if mismatches <= 3 { Issue.record("row \(index): got \(back), expected \(expected)") }
                }
            }
            #expect(mismatches == 0)
        }
    }

    @Test("a bad value mid-stream fails the COPY with the line, stores nothing, and the connection stays usable")
    func serverErrorMidStream() throws {
        try TestDatabase.withSchema { connection, _ in
            try connection.executeScript("CREATE TABLE t (id int8, name text)")
            let error = try #require(throws: PostgresError.self) {
                try connection.copyIn("COPY t (id, name) FROM STDIN") { writer in
                    for index in 0..<100_000 {
                        if index == 50_000 {
                            writer.appendText("not-a-number")
                        } else {
                            writer.appendInteger(index)
                        }
                        writer.appendText("row \(index)")
                        try writer.endRow()
                    }
                }
            }
            #expect(error.kind == .copyFailed)
            #expect(error.sqlState == "22P02")
            #expect(error.context?.contains("line 50001") == true)
            #expect(!error.isConnectionProblem)
            #expect(connection.status == .ok)
            #expect(try connection.execute("SELECT count(*) FROM t").int64(row: 0, column: 0) == 0)
        }
    }

    @Test("an error thrown by the row writer aborts the COPY and comes out unchanged")
    func clientErrorAborts() throws {
        struct StopCopy: Error, Equatable {}
        try TestDatabase.withSchema { connection, _ in
            try connection.executeScript("CREATE TABLE t (id int8)")
            #expect(throws: StopCopy()) {
                try connection.copyIn("COPY t FROM STDIN", bufferSize: 1024) { writer in
                    for index in 0..<10_000 {
                        writer.appendInteger(index)
                        try writer.endRow()
                    }
                    throw StopCopy()
                }
            }
            #expect(try connection.execute("SELECT count(*) FROM t").int64(row: 0, column: 0) == 0)
            // The next COPY works, here with many small flushes.
            let copied = try connection.copyIn("COPY t FROM STDIN", bufferSize: 1024) { writer in
                for index in 0..<10_000 {
                    writer.appendInteger(index)
                    try writer.endRow()
                }
            }
            #expect(copied == 10_000)
            #expect(try connection.execute("SELECT sum(id) FROM t").int64(row: 0, column: 0) == 49_995_000)
        }
    }

    @Test("an empty COPY stores nothing and reports zero rows")
    func emptyCopy() throws {
        try TestDatabase.withSchema { connection, _ in
            try connection.executeScript("CREATE TABLE t (id int8)")
            #expect(try connection.copyIn("COPY t FROM STDIN") { _ in } == 0)
        }
    }

    @Test("statements that are not COPY FROM STDIN are refused and leave the connection usable")
    func wrongStatements() throws {
        try TestDatabase.withSchema { connection, _ in
            try connection.executeScript("CREATE TABLE t (id int8)")
            let notCopy = try #require(throws: PostgresError.self) {
                try connection.copyIn("SELECT 1") { _ in }
            }
            #expect(notCopy.kind == .protocolViolation)
            let missing = try #require(throws: PostgresError.self) {
                try connection.copyIn("COPY \(TestDatabase.uniqueName("missing")) FROM STDIN") { _ in }
            }
            #expect(missing.kind == .copyFailed)
            #expect(missing.sqlState == "42P01")
            let viaExecute = try #require(throws: PostgresError.self) {
                try connection.execute("COPY t FROM STDIN")
            }
            #expect(viaExecute.kind == .protocolViolation)
            let copyOut = try #require(throws: PostgresError.self) {
                try connection.copyIn("COPY t TO STDOUT") { _ in }
            }
            #expect(copyOut.kind == .protocolViolation)
            #expect(connection.status == .ok)
            #expect(try connection.execute("SELECT 7").int64(row: 0, column: 0) == 7)
        }
    }
}
