import JourneyCore
import JourneyStore
import PostgresClient
import Testing

/// Closed instances and their critical moments are sealed into compressed chunks
/// (`cjm.sealed_instances`); `cjm.journey_instances`, `cjm.critical_moments` and every view
/// over them read the same before and after, and a daemon that restarts on sealed history
/// goes on exactly as one that never sealed.
@Suite(.enabled(if: StoreTestDatabase.isConfigured, StoreTestDatabase.skipReason))
struct SealedHistoryTests {
    static let views = [
        "SELECT * FROM cjm.funnel_between('purchase', '-infinity', 'infinity')",
        "SELECT * FROM cjm.funnel_between('purchase', '2026-01-06', '2026-01-08')",
        "SELECT * FROM cjm.funnel_daily", "SELECT * FROM cjm.exit_points", "SELECT * FROM cjm.funnel",
    ]

    func views(_ harness: StoreHarness) throws -> [[[String?]]] {
        try Self.views.map { try harness.rows($0) }
    }

    @Test func sealingChangesNoTableNorView() throws {
        try StoreTestDatabase.withDatabase { conninfo in
            let harness = try StoreHarness(
                conninfo: conninfo, configuration: RetentionTests.configuration(retained: false))
            harness.sealAfterClosedInstances = .max
            for chunk in RetentionTests.chunks() { try harness.replay(bytes: chunk) }
            #expect(try harness.rows("SELECT count(*) FROM cjm.sealed_instances") == [["0"]])
            let snapshot = try harness.snapshot()
            let views = try views(harness)
            let closed = try harness.rows("SELECT count(*) FROM cjm.instance_rows WHERE exited_at IS NOT NULL")
            #expect(closed != [["0"]])

            #expect(try harness.rows("SELECT cjm.seal_closed_instances(7)") == closed)
            #expect(try harness.rows("SELECT count(*) FROM cjm.instance_rows WHERE exited_at IS NOT NULL") == [["0"]])
            #expect(
                try harness.rows(
                    "SELECT count(*) FROM cjm.moment_rows m WHERE NOT EXISTS (SELECT 1 FROM cjm.instance_rows i WHERE (i.journey, i.customer_id, i.instance) = (m.journey, m.customer_id, m.instance))"
                )
                    == [["0"]])
            #expect(try harness.rows("SELECT max(instances) FROM cjm.sealed_instances") == [["7"]])
            #expect(try harness.snapshot() == snapshot)
            #expect(sameRows(try self.views(harness), views))
            // Nothing closed is left: sealing again moves nothing.
            #expect(try harness.rows("SELECT cjm.seal_closed_instances(7)") == [["0"]])
        }
    }

    /// `cjm.instances_entered` reads only the chunks that overlap its range, and returns
    /// what `cjm.journey_instances` holds in that range: ranges inside, across and outside
    /// the data, empty ones and unbounded ones.
    @Test func aRangeOfEntryTimesReadsWhatTheViewHolds() throws {
        try StoreTestDatabase.withDatabase { conninfo in
            let harness = try StoreHarness(
                conninfo: conninfo, configuration: RetentionTests.configuration(retained: false))
            harness.sealAfterClosedInstances = 8
            harness.sealedChunkSize = 4
            for chunk in RetentionTests.chunks() { try harness.replay(bytes: chunk) }
            #expect(try harness.rows("SELECT count(*) > 10 FROM cjm.sealed_instances") == [["t"]])
            let bounds = try harness.rows(
                """
                SELECT min(entered_at)::text, max(entered_at)::text,
                       (min(entered_at) + (max(entered_at) - min(entered_at)) / 3)::text
                FROM cjm.journey_instances
                """)[0].map { $0! }
            let ranges = [
                ("-infinity", "infinity"), (bounds[0], bounds[1]), (bounds[2], bounds[1]), (bounds[0], bounds[2]),
                (bounds[2], bounds[2]), (bounds[1], "infinity"), ("-infinity", bounds[0]), ("2001-01-01", "2001-01-02"),
            ]
            var nonEmpty = 0
            for (from, to) in ranges {
                let order = "ORDER BY customer_id, instance"
                let viaFunction = try harness.rows(
                    "SELECT * FROM cjm.instances_entered('purchase', '\(from)', '\(to)') \(order)")
                let viaView = try harness.rows(
                    """
                    SELECT * FROM cjm.journey_instances
                    WHERE journey = 'purchase' AND entered_at >= '\(from)' AND entered_at < '\(to)' \(order)
                    """)
                #expect(viaFunction == viaView, "range [\(from), \(to))")
                if !viaView.isEmpty { nonEmpty += 1 }
            }
            #expect(nonEmpty >= 4)
        }
    }

    /// A rebuild seals as it goes, several times in its one transaction, and ends with the
    /// tables it started from: each instance and moment once.
    @Test func aRebuildOfSealedHistoryRecomputesTheSameTables() throws {
        try StoreTestDatabase.withDatabase { conninfo in
            let configuration = RetentionTests.configuration(retained: false)
            let harness = try StoreHarness(conninfo: conninfo, configuration: configuration)
            for chunk in RetentionTests.chunks() { try harness.replay(bytes: chunk) }
            let replayed = try harness.snapshot()
            let views = try views(harness)
            let summary = try JourneyRebuilder.rebuild(
                configuration: configuration, connection: harness.connection, logger: harness.logger, chunk: 2_000,
                sealAfterClosedInstances: 50)
            #expect(summary.events == replayed.events.count)
            #expect(try harness.rows("SELECT count(*) > 1 FROM cjm.sealed_instances") == [["t"]])
            #expect(
                try harness.rows(
                    "SELECT count(*) = count(DISTINCT (journey, customer_id, instance)) FROM cjm.journey_instances")
                    == [["t"]])
            #expect(try harness.snapshot().derived == replayed.derived)
            #expect(sameRows(try self.views(harness), views))
        }
    }

    /// Sealing during the replays (every few closed instances) and restarting between
    /// them ends where a replay that never sealed ends.
    @Test func restartsOnSealedHistoryEndAsWithoutSealing() throws {
        let chunks = RetentionTests.chunks()
        let (unsealed, unsealedViews) = try StoreTestDatabase.withDatabase { conninfo in
            let harness = try StoreHarness(
                conninfo: conninfo, configuration: RetentionTests.configuration(retained: false))
            harness.sealAfterClosedInstances = .max
            for chunk in chunks { try harness.replay(bytes: chunk) }
            #expect(try harness.rows("SELECT count(*) FROM cjm.sealed_instances") == [["0"]])
            return (try harness.snapshot(), try views(harness))
        }
        try StoreTestDatabase.withDatabase { conninfo in
            let harness = try StoreHarness(
                conninfo: conninfo, configuration: RetentionTests.configuration(retained: false))
            harness.sealAfterClosedInstances = 1
            harness.sealedChunkSize = 5
            for chunk in chunks {
                try harness.replay(bytes: chunk, derivedWriteInterval: 2_000)
            }
            #expect(try harness.rows("SELECT count(*) > 10 FROM cjm.sealed_instances") == [["t"]])
            #expect(try harness.snapshot() == unsealed)
            #expect(sameRows(try views(harness), unsealedViews))
        }
    }
}

/// Rows equal but for the last bits of floating-point averages: a sum of doubles depends on
/// the order PostgreSQL reads the rows in, which sealing changes (as any rewrite of a table
/// does).
func sameRows(_ a: [[[String?]]], _ b: [[[String?]]]) -> Bool {
    guard a.count == b.count else { return false }
    for (x, y) in zip(a, b) {
        guard x.count == y.count else { return false }
        for (p, q) in zip(x, y) {
            guard p.count == q.count else { return false }
            for (u, v) in zip(p, q) where u != v {
                guard let u, let v, let du = Double(u), let dv = Double(v),
                    abs(du - dv) <= 1e-12 * max(1, abs(du))
                else { return false }
            }
        }
    }
    return true
}
