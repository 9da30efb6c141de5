import PostgresClient
import Testing

/// Binary COPY against the server's own reading of the values: every row is also written as
/// text COPY into a twin table, and the two tables must hold the same values.
@Suite("COPY FROM STDIN (FORMAT binary)", .enabled(if: TestDatabase.isConfigured, TestDatabase.skipReason))
struct BinaryCopyInTests {
    static let columns =
        "id int8 PRIMARY KEY, small int4, txt text, d float8, ts timestamptz, amount numeric(19, 6), doc jsonb"

    /// Amounts in millionths around every base-10000 digit boundary, signs and extremes.
    static let amounts: [Int64?] = {
        var values: [Int64?] = [
            nil, 0, 1, -1, 9_999, 10_000, 10_001, 999_999, 1_000_000, -1_000_000, 1_000_001,
            12_500_000, -12_500_000, 100_000_000, 99_990_000, 10_000_000_000, 123_456_789_123_456,
            Int64.max, Int64.min + 1, Int64.min,
        ]
        var power: Int64 = 1
        for _ in 0..<18 {
            power *= 10
            values += [power, power - 1, power + 1, -power, power / 2 + 7]
        }
        return values
    }()

    static let texts = ["", "plain", "tab\there", "new\nline", "back\\slash", "😀 日本 é", "\u{1}", "\\N", "'\""]
    static let docs: [String?] = [
        nil, "{}", "[]", "null", "{\"a\": 1, \"b\": [true, null, \"x\\ny\"]}", "\"é😀\"", "12.50",
    ]

    @Test("every kind of value reads back as the same value text COPY stores")
    func valuesMatchTextCopy() throws {
        try TestDatabase.withSchema { connection, _ in
            try connection.executeScript("CREATE TABLE b (\(Self.columns)); CREATE TABLE t (\(Self.columns))")
            let rowCount = 5_000
            func value(_ i: Int) -> (Int64, Int32, String?, Double?, Int64, Int64?, String?) {
                let micros = Int64(i) * 987_654_321_123 - 2_000_000_000_000_000
                let number: Double? = i % 11 == 0 ? nil : (i % 13 == 0 ? -0.0 : Double(i) / 3 - 700)
                return (
                    Int64(i), Int32(truncatingIfNeeded: i &* 7919) - 1_000_000,
                    i % 10 == 0 ? nil : Self.texts[i % Self.texts.count],
                    number, micros, Self.amounts[i % Self.amounts.count].map { $0 % 1_000_000_000_000_000_000 },
                    Self.docs[i % Self.docs.count]
                )
            }
            let copied = try connection.copyInBinary("COPY b FROM STDIN (FORMAT binary)", bufferSize: 4096) { writer in
                for i in 0..<rowCount {
                    let v = value(i)
                    writer.appendInt64(v.0)
                    writer.appendInt32(v.1)
                    writer.appendText(v.2)
                    writer.appendDouble(v.3)
                    writer.appendTimestamp(microsecondsSinceEpoch: v.4)
                    writer.appendNumeric(units: v.5, scale: 6)
                    writer.appendJSONB(v.6)
                    try writer.endRow()
                }
            }
            #expect(copied == rowCount)
            try connection.copyIn("COPY t FROM STDIN") { writer in
                for i in 0..<rowCount {
                    let v = value(i)
                    writer.appendInteger(v.0)
                    writer.appendInteger(v.1)
                    writer.appendText(v.2)
                    writer.appendDouble(v.3)
                    writer.appendTimestamp(microsecondsSinceEpoch: v.4)
                    writer.appendText(v.5.map { Self.decimalText(units: $0, scale: 6) })
                    writer.appendText(v.6)
                    try writer.endRow()
                }
            }
            let differences = try connection.execute(
                """
                SELECT count(*) FROM b FULL JOIN t USING (id)
                WHERE b.id IS NULL OR t.id IS NULL OR (b.small, b.txt, b.d, b.ts, b.amount, b.doc)
                    IS DISTINCT FROM (t.small, t.txt, t.d, t.ts, t.amount, t.doc)
                """)
            #expect(try differences.int64(row: 0, column: 0) == 0)
            // Display scale too: numeric(19, 6) shows six decimals either way.
            let shown = try connection.execute("SELECT amount::text FROM b WHERE id = 11")
            #expect(shown.string(row: 0, column: 0) == Self.amounts[11].map { Self.decimalText(units: $0, scale: 6) })
        }
    }

    @Test("arrays (with NULL elements, empty) and intervals read back as written")
    func arraysAndIntervals() throws {
        try TestDatabase.withSchema { connection, _ in
            try connection.executeScript(
                """
                CREATE TABLE a (id int4, ts timestamptz[], n int4[], d float8[], amount numeric(19, 6)[], span interval)
                """)
            let rowCount = 500
            func row(_ i: Int) -> (stamps: [Int64?], ints: [Int32], doubles: [Double], units: [Int64], span: Int64) {
                let size = i % 5  // 0 to 4 elements
                return (
                    (0..<size).map { k in
                        (i + k) % 3 == 0 ? nil : Int64(i * 1_000_003 + k) * 1_000_000_007 - 946_684_800_000_000
                    },
                    (0..<size).map { k in Int32(i * 31 - k * 1_000) },
                    (0..<size).map { k in Double(i) / Double(k + 1) - 3.25 },
                    (0..<size).map { k in Self.amounts[(i + k) % Self.amounts.count] ?? 0 },
                    Int64(i) * 86_400_000_123 - 7_000_000_000
                )
            }
            try connection.copyInBinary("COPY a FROM STDIN (FORMAT binary)") { writer in
                for i in 0..<rowCount {
                    let r = row(i)
                    writer.appendInt32(Int32(i))
                    writer.beginArray(of: .timestamptz, count: r.stamps.count)
                    for stamp in r.stamps { writer.appendArrayElement(timestampMicroseconds: stamp) }
                    writer.endArray()
                    writer.beginArray(of: .int4, count: r.ints.count)
                    for n in r.ints { writer.appendArrayElement(int4: n) }
                    writer.endArray()
                    writer.beginArray(of: .float8, count: r.doubles.count)
                    for d in r.doubles { writer.appendArrayElement(float8: d) }
                    writer.endArray()
                    writer.beginArray(of: .numeric, count: r.units.count)
                    for u in r.units { writer.appendArrayElement(numericUnits: u, scale: 6) }
                    writer.endArray()
                    writer.appendInterval(microseconds: r.span)
                    try writer.endRow()
                }
            }
            let result = try connection.execute(
                """
                SELECT id, array_to_string(ARRAY(SELECT coalesce((extract(epoch FROM t) * 1000000)::int8::text, 'null')
                                                 FROM unnest(ts) WITH ORDINALITY AS u(t, o) ORDER BY o), ','),
                       array_to_string(n, ','), array_to_string(d, ','), array_to_string(amount, ','),
                       span = (extract(epoch FROM span) * 1000000)::int8 * interval '1 microsecond',
                       (extract(epoch FROM span) * 1000000)::int8, cardinality(ts)
                FROM a ORDER BY id
                """)
            #expect(result.rowCount == rowCount)
            for i in 0..<result.rowCount {
                let r = row(i)
                #expect(
                    result.string(row: i, column: 1)
                        == r.stamps.map { $0.map(String.init) ?? "null" }.joined(separator: ","), "row \(i)")
                #expect(result.string(row: i, column: 2) == r.ints.map(String.init).joined(separator: ","), "row \(i)")
                let doubles = (result.string(row: i, column: 3) ?? "").split(separator: ",").compactMap { Double($0) }
                #expect(doubles == r.doubles, "row \(i)")
                #expect(
                    result.string(row: i, column: 4)
                        == r.units.map { Self.decimalText(units: $0, scale: 6) }.joined(separator: ","),
                    "row \(i)")
                #expect(result.string(row: i, column: 5) == "t", "row \(i)")
                #expect(try result.int64(row: i, column: 6) == r.span, "row \(i)")
                #expect(try result.int64(row: i, column: 7) == Int64(r.stamps.count), "row \(i)")
            }
        }
    }

    @Test("a refused row fails the COPY with its line, stores nothing, and the connection stays usable")
    func refusedRow() throws {
        try TestDatabase.withSchema { connection, _ in
            try connection.executeScript("CREATE TABLE b (id int8 PRIMARY KEY, txt text)")
            let error = #expect(throws: PostgresError.self) {
                try connection.copyInBinary("COPY b FROM STDIN (FORMAT binary)") { writer in
                    for i in [1, 2, 3, 2, 4] as [Int64] {
                        writer.appendInt64(i)
                        writer.appendText("row \(i)")
                        try writer.endRow()
                    }
                }
            }
            #expect(error?.sqlState == "23505")
            #expect(try connection.execute("SELECT count(*) FROM b").int64(row: 0, column: 0) == 0)
        }
    }

    /// `units` × 10^-scale as decimal text, the oracle's input.
    static func decimalText(units: Int64, scale: Int) -> String {
        let magnitude = String(units.magnitude)
        let padded = String(repeating: "0", count: max(0, scale + 1 - magnitude.count)) + magnitude
        let split = padded.index(padded.endIndex, offsetBy: -scale)
        return (units < 0 ? "-" : "") + padded[..<split] + "." + padded[split...]
    }
}
