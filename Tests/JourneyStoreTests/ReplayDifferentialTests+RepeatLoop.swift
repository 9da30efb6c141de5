import JourneyCore
import JourneyReference
import PostgresClient

extension ReplayDifferentialTests {
    /// Differences between `cjm.repeat_loop` / `cjm.repeat_triggers` and the reference: every
    /// count exactly, the return rate to the last bit, and the median and 90th percentile of
    /// the return times within a duration bucket of the reference's exact ones.
    static func compareRepeatLoop(_ c: PostgresConnection, expected: ReferenceResult) throws -> [String] {
        var problems: [String] = []
        let loop = try c.execute(
            """
            SELECT journey, persona, converted, returned, pending, did_not_return, return_rate,
                   median_time_to_return, p90_time_to_return
            FROM cjm.repeat_loop
            """)
        if loop.rowCount != expected.repeatLoop.count {
            problems.append("repeat_loop has \(loop.rowCount) rows, reference \(expected.repeatLoop.count)")
        }
        for (i, ref) in expected.repeatLoop.enumerated() where i < loop.rowCount {
            let db = (0..<6).map { loop.string(row: i, column: $0) }
            let want: [String?] = [
                ref.journey, ref.persona, "\(ref.converted)", "\(ref.returned)", "\(ref.pending)",
                "\(ref.didNotReturn)",
            ]
            if db != want { problems.append("repeat_loop \(i): db \(db), reference \(want)") }
            let rate = try loop.double(row: i, column: 6)
            if rate != ref.returnRate {
                problems.append(
                    "repeat_loop \(ref.journey)/\(ref.persona): return_rate \(String(describing: rate)), reference \(String(describing: ref.returnRate))"
                )
            }
            for (column, fraction) in [(7, 0.5), (8, 0.9)] {
                let db = try loop.double(row: i, column: column)
                let exact = Self.percentile(ref.timesToReturn, fraction)
                guard let db, let exact else {
                    if (db == nil) != (exact == nil) {
                        problems.append(
                            "repeat_loop \(ref.journey)/\(ref.persona) p\(Int(fraction * 100)): db \(String(describing: db)), reference \(String(describing: exact))"
                        )
                    }
                    continue
                }
                // A duration bucket is 1 % of (1 + seconds) wide.
                if abs(db - exact) > 0.0101 * (1 + exact) {
                    problems.append(
                        "repeat_loop \(ref.journey)/\(ref.persona) p\(Int(fraction * 100)): db \(db), reference \(exact)"
                    )
                }
            }
        }
        let triggers = try c.execute(
            """
            SELECT journey, event, touchpoint, returns, share FROM cjm.repeat_triggers
            ORDER BY journey COLLATE "C", event COLLATE "C", touchpoint COLLATE "C"
            """)
        if triggers.rowCount != expected.repeatTriggers.count {
            problems.append("repeat_triggers has \(triggers.rowCount) rows, reference \(expected.repeatTriggers.count)")
        }
        var returnsPerJourney: [String: Int] = [:]
        for row in expected.repeatTriggers { returnsPerJourney[row.journey, default: 0] += row.returns }
        for (i, ref) in expected.repeatTriggers.enumerated() where i < triggers.rowCount {
            let db = (0..<4).map { triggers.string(row: i, column: $0) }
            let want: [String?] = [ref.journey, ref.event, ref.touchpoint, "\(ref.returns)"]
            if db != want { problems.append("repeat_triggers \(i): db \(db), reference \(want)") }
            let share = Double(ref.returns) / Double(returnsPerJourney[ref.journey] ?? 1)
            if let db = try triggers.double(row: i, column: 4), abs(db - share) > 1e-12 {
                problems.append("repeat_triggers \(i): share \(db), reference \(share)")
            }
        }
        return problems
    }

    /// The `fraction` percentile of `times` in seconds, interpolated between the two nearest
    /// ranks as `cjm.repeat_loop` does (nil when empty).
    static func percentile(_ times: [TimeSpan], _ fraction: Double) -> Double? {
        guard !times.isEmpty else { return nil }
        let seconds = times.map { Double($0.microseconds) / 1_000_000 }.sorted()
        let x = fraction * Double(seconds.count - 1)
        let low = seconds[Int(x.rounded(.down))]
        let high = seconds[Int(x.rounded(.up))]
        return low + (x - x.rounded(.down)) * (high - low)
    }
}
