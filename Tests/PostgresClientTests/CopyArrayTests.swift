import PostgresClient
import Testing

@Suite("COPY array fields", .enabled(if: TestDatabase.isConfigured, TestDatabase.skipReason))
struct CopyArrayTests {
    /// Seeded values at the edges (negative, zero, NULL, BC and far-future timestamps,
    /// fractions of a micro-unit) written with the array encoder must read back exactly,
    /// compared on the server against values it parsed itself.
    @Test("integer, double, timestamp and fixed-point arrays read back exactly")
    func arraysRoundTrip() throws {
        try TestDatabase.withSchema { connection, _ in
            try connection.executeScript(
                "CREATE TABLE a (id int8 PRIMARY KEY, i int8[], d float8[], t timestamptz[], n numeric(19, 6)[])")
            let micros: [Int64?] = [
                0, nil, -62_135_596_800_000_000 - 1, 253_402_300_799_999_999, 1_767_571_201_244_923, -1,
            ]
            let fixed: [Int64] = [0, 1, -1, 999_999, 1_000_000, -12_500_000, 9_223_372_036_854_775_807]
            let doubles: [Double] = [0, -0.0, 0.1, -1e300, 5e-324, 1.0 / 3.0]
            let integers: [Int64] = [0, -1, .max, .min, 42]
            _ = try connection.copyIn("COPY a FROM STDIN") { writer in
                for row in 0..<3 {
                    writer.appendInteger(Int64(row))
                    writer.beginArray()
                    for value in integers.dropFirst(row) { writer.appendArrayElement(value) }
                    writer.endArray()
                    writer.beginArray()
                    for value in doubles.dropFirst(row) { writer.appendArrayElement(value) }
                    writer.endArray()
                    writer.beginArray()
                    for value in micros.dropFirst(row) { writer.appendArrayElement(timestampMicroseconds: value) }
                    writer.endArray()
                    writer.beginArray()
                    for value in fixed.dropFirst(row) {
                        writer.appendArrayElement(fixedPoint: value, fractionDigits: 6)
                    }
                    writer.endArray()
                    try writer.endRow()
                }
            }
            for row in 0..<3 {
                let expectedTimes = micros.dropFirst(row).map {
                    $0.map { "to_timestamp(0) + '\($0) microseconds'::interval" } ?? "NULL"
                }
                // Multiplication is exact in numeric; division would round.
                let expectedFixed = fixed.dropFirst(row).map { "\($0)::numeric * 0.000001" }
                let check = try connection.execute(
                    """
                    SELECT i = ARRAY[\(integers.dropFirst(row).map { $0 == .min ? "(\($0))::int8" : "\($0)::int8" }.joined(separator: ","))],
                           d = ARRAY[\(doubles.dropFirst(row).map { "'\($0)'::float8" }.joined(separator: ","))],
                           t IS NOT DISTINCT FROM ARRAY[\(expectedTimes.joined(separator: ","))]::timestamptz[],
                           n = ARRAY[\(expectedFixed.joined(separator: ","))]::numeric[]
                    FROM a WHERE id = \(row)
                    """)
                #expect(check.rowCount == 1)
                for column in 0..<4 {
                    #expect(check.string(row: 0, column: column) == "t", "row \(row) column \(column)")
                }
            }
        }
    }
}
