import PostgresClient
import Testing

@Suite("Parameters round trip", .enabled(if: TestDatabase.isConfigured, TestDatabase.skipReason))
struct ParameterRoundTripTests {
    static let awkwardTexts = [
        "", " ", "plain", "it's", "say \"hi\"", "back\\slash", "\\N", "\\.", "tab\there",
        "new\nline", "carriage\rreturn", "crlf\r\n", "emoji 😀🎉👩‍👩‍👧", "日本語のテキスト",
        "Привет, мир", "مرحبا", "e\u{301} combining", "$1 placeholder-looking", "'; DROP TABLE x; --",
        String(repeating: "long ", count: 2000),
    ]

    @Test("text comes back identical and the server sees the same characters", arguments: awkwardTexts)
    func textRoundTrip(text: String) throws {
        let connection = try TestDatabase.connect()
        let result = try connection.execute(
            "SELECT $1::text, octet_length($1::text), $1::text IS NULL", [.text(text)])
        #expect(result.string(row: 0, column: 0) == text)
        #expect(try result.int64(row: 0, column: 1) == Int64(text.utf8.count))
        #expect(try result.bool(row: 0, column: 2) == false)
    }

    @Test("empty string and NULL stay distinct")
    func emptyStringVersusNull() throws {
        let connection = try TestDatabase.connect()
        let result = try connection.execute(
            "SELECT $1::text, $2::text, $1::text IS NULL, $2::text IS NULL", [.text(""), nil])
        #expect(result.string(row: 0, column: 0) == "")
        #expect(!result.isNull(row: 0, column: 0))
        #expect(result.string(row: 0, column: 1) == nil)
        #expect(result.isNull(row: 0, column: 1))
        #expect(try result.bool(row: 0, column: 2) == false)
        #expect(try result.bool(row: 0, column: 3) == true)
    }

    @Test(
        "64-bit integers round trip, including the extremes",
        arguments: [Int64.min, -1, 0, 1, 2_147_483_648, Int64.max])
    func integerRoundTrip(value: Int64) throws {
        let connection = try TestDatabase.connect()
        let result = try connection.execute("SELECT $1, $1::text", [.int(value)])
        #expect(try result.int64(row: 0, column: 0) == value)
        #expect(result.string(row: 0, column: 1) == String(value))
    }

    @Test(
        "doubles round trip bit for bit",
        arguments: [
            0.1, -0.0, 1e308, .leastNonzeroMagnitude, Double.pi, -123456.789e-20, .infinity, -.infinity,
            .greatestFiniteMagnitude,
        ])
    func doubleRoundTrip(value: Double) throws {
        let connection = try TestDatabase.connect()
        let result = try connection.execute("SELECT $1, $1 = $2::float8", [.double(value), .text(String(value))])
        let back = try #require(try result.double(row: 0, column: 0))
        #expect(back.bitPattern == value.bitPattern)
        #expect(try result.bool(row: 0, column: 1) == true)
    }

    @Test("NaN stays NaN")
    func nanRoundTrip() throws {
        let connection = try TestDatabase.connect()
        let result = try connection.execute("SELECT $1, $1 = 'NaN'::float8", [.double(.nan)])
        #expect(try result.double(row: 0, column: 0)?.isNaN == true)
        #expect(try result.bool(row: 0, column: 1) == true)
    }

    @Test("literals in a parameter list pick the matching value kind")
    func literalParameters() throws {
        let connection = try TestDatabase.connect()
        let result = try connection.execute(
            "SELECT $1::text, $2::int8 + 1, $3::float8 * 2, $4::bool, $5::text IS NULL", ["x", 41, 1.25, true, nil])
        #expect(result.string(row: 0, column: 0) == "x")
        #expect(try result.int64(row: 0, column: 1) == 42)
        #expect(try result.double(row: 0, column: 2) == 2.5)
        #expect(try result.bool(row: 0, column: 3) == true)
        #expect(try result.bool(row: 0, column: 4) == true)
    }

    @Test("booleans round trip")
    func boolRoundTrip() throws {
        let connection = try TestDatabase.connect()
        let result = try connection.execute("SELECT $1, $2, NOT $1", [.bool(true), .bool(false)])
        #expect(try result.bool(row: 0, column: 0) == true)
        #expect(try result.bool(row: 0, column: 1) == false)
        #expect(try result.bool(row: 0, column: 2) == false)
    }

    @Test("bytea with NUL and every byte value round trips")
    func byteaRoundTrip() throws {
        let connection = try TestDatabase.connect()
        let allBytes = (0...255).map(UInt8.init) + [0, 0, 92, 120, 0]
        let result = try connection.execute(
            "SELECT $1, length($1), get_byte($1, 0), get_byte($1, 255)", [.bytea(allBytes)])
        #expect(try result.bytea(row: 0, column: 0) == allBytes)
        #expect(try result.int64(row: 0, column: 1) == Int64(allBytes.count))
        #expect(try result.int64(row: 0, column: 2) == 0)
        #expect(try result.int64(row: 0, column: 3) == 255)
        let empty = try connection.execute("SELECT $1", [.bytea([])])
        #expect(try empty.bytea(row: 0, column: 0) == [])
    }

    static let timestamps: [Int64] = [
        0, 1, -1, 1_700_000_000_123_456, -1_000_000_000_000_001, 951_782_400_000_000,  // 2000-02-29
        253_402_300_799_999_999,  // 9999-12-31 23:59:59.999999
        -62_135_596_800_000_000,  // 0001-01-01
        -62_135_683_200_000_000,  // 0001-12-31 BC (the day before 0001-01-01)
        -62_198_755_200_000_000,  // 0002-01-01 BC (year 0 = 1 BC is a leap year)
        4_102_444_800_000_000_000 / 10,
    ]

    @Test("timestamps are read and written as microseconds since the epoch", arguments: timestamps)
    func timestampRoundTrip(micros: Int64) throws {
        let connection = try TestDatabase.connect()
        // The server's own arithmetic is the oracle for what the text means.
        let result = try connection.execute(
            "SELECT $1, (extract(epoch FROM $1) * 1000000)::int8, $1::timestamp",
            [.timestamp(microsecondsSinceEpoch: micros)])
        #expect(try result.timestampMicroseconds(row: 0, column: 0) == micros)
        #expect(try result.int64(row: 0, column: 1) == micros)
        #expect(try result.timestampMicroseconds(row: 0, column: 2) == micros)
    }

    @Test("timestamps the server writes parse to the server's own epoch value")
    func serverFormattedTimestamps() throws {
        let connection = try TestDatabase.connect()
        let result = try connection.execute(
            """
            SELECT ts, (extract(epoch FROM ts) * 1000000)::int8
            FROM (VALUES ('2024-02-29 12:34:56.789012+00'::timestamptz), ('1969-07-20 20:17:40-05'),
                         ('0044-03-15 12:00:00+00 BC'), ('12345-06-07 08:09:10.5+00'), (now()),
                         ('2000-01-01 00:00:00.000001+00')) AS v(ts)
            """)
        #expect(result.rowCount == 6)
        for row in 0..<result.rowCount {
            #expect(try result.timestampMicroseconds(row: row, column: 0) == result.int64(row: row, column: 1))
        }
        let dates = try connection.execute(
            "SELECT '2024-02-29'::date, 'infinity'::timestamptz, '-infinity'::timestamptz")
        #expect(try dates.timestampMicroseconds(row: 0, column: 0) == 1_709_164_800_000_000)
        #expect(try dates.timestampMicroseconds(row: 0, column: 1) == Int64.max)
        #expect(try dates.timestampMicroseconds(row: 0, column: 2) == Int64.min)
    }

    @Test("typed parameters land in typed columns")
    func typedColumns() throws {
        try TestDatabase.withSchema { connection, _ in
            try connection.executeScript(
                "CREATE TABLE t (i int4, s smallint, n numeric, d float8, b bool, ts timestamptz, j jsonb, u uuid, by bytea)"
            )
            let insert = try connection.execute(
                "INSERT INTO t VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
                [
                    .int(7), .int(-3), .int(12), .double(2.5), .bool(true),
                    .timestamp(microsecondsSinceEpoch: 86_400_000_000),
                    .text(#"{"k": "v\n"}"#), .text("a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"), .bytea([1, 2, 3]),
                ])
            #expect(insert.affectedRows == 1)
            let row = try connection.execute("SELECT i, s, n, d, b, ts, j->>'k', u, by FROM t WHERE i = $1", [.int(7)])
            #expect(row.rowCount == 1)
            #expect(try row.int64(row: 0, column: 0) == 7)
            #expect(try row.int64(row: 0, column: 1) == -3)
            #expect(try row.double(row: 0, column: 2) == 12)
            #expect(try row.double(row: 0, column: 3) == 2.5)
            #expect(try row.bool(row: 0, column: 4) == true)
            #expect(try row.timestampMicroseconds(row: 0, column: 5) == 86_400_000_000)
            #expect(row.string(row: 0, column: 6) == "v\n")
            #expect(row.string(row: 0, column: 7) == "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11")
            #expect(try row.bytea(row: 0, column: 8) == [1, 2, 3])
            #expect(row.columnName(6) == "?column?")
            #expect(row.columnIndex(named: "ts") == 5)
        }
    }

    @Test("text with a NUL character is refused before it reaches the server")
    func nulInTextIsRejected() throws {
        let connection = try TestDatabase.connect()
        let error = try #require(throws: PostgresError.self) {
            try connection.execute("SELECT $1::text", [.text("a\0b")])
        }
        #expect(error.kind == .invalidArgument)
        #expect(connection.status == .ok)
    }

    @Test("a value that is not of the requested type fails to decode with a clear message")
    func decodingFailure() throws {
        let connection = try TestDatabase.connect()
        let result = try connection.execute("SELECT 'abc' AS word, 99999999999999999999::numeric AS huge")
        let wordError = try #require(throws: PostgresError.self) { try result.int64(row: 0, column: 0) }
        #expect(wordError.kind == .decodingFailed)
        #expect(wordError.message.contains("word"))
        #expect(throws: PostgresError.self) { try result.int64(row: 0, column: 1) }
        #expect(throws: PostgresError.self) { try result.bool(row: 0, column: 0) }
        #expect(throws: PostgresError.self) { try result.timestampMicroseconds(row: 0, column: 0) }
    }
}
