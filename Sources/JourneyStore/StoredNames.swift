import JourneyCore
import PostgresClient

/// The numbers `cjm.event_rows.source_id` stores instead of source names (`cjm.sources`):
/// a name is numbered the first time an event of it is written, inside that batch's
/// transaction, and every later row costs a dictionary lookup.
///
/// Names numbered in a transaction that then failed are gone with it, so the owner calls
/// ``forget()`` after every failed transaction.
struct SourceIDs {
    private var known: [String: Int32] = [:]

    /// Numbers the names among `names` not numbered yet, inside the caller's transaction.
    mutating func ensure(_ names: some Sequence<String>, on connection: PostgresConnection) throws {
        var previous: String?
        for name in names where name != previous {
            previous = name
            guard known[name] == nil else { continue }
            // The SELECT does not see the row the INSERT adds (one snapshot): exactly one
            // of the two answers.
            let result = try connection.execute(
                """
                WITH inserted AS (
                    INSERT INTO cjm.sources (name) VALUES ($1) ON CONFLICT (name) DO NOTHING RETURNING id
                )
                SELECT id FROM inserted UNION ALL SELECT id FROM cjm.sources WHERE name = $1
                """, [.text(name)])
            guard result.rowCount == 1, let id = try result.int64(row: 0, column: 0) else {
                throw StoreError(
                    message: "cannot number the source \(name) in cjm.sources",
                    hint: "check that the database was migrated by this cjmd (`cjmd migrate`)")
            }
            known[name] = Int32(id)
        }
    }

    /// The number of `name`, which ``ensure(_:on:)`` has numbered in this transaction or before.
    func id(_ name: String) -> Int32 {
        guard let id = known[name] else { preconditionFailure("source \(name) written before it was numbered") }
        return id
    }

    /// Forgets every number: the next rows look them up again (after a failed transaction).
    mutating func forget() {
        known.removeAll()
    }
}

/// The numbers of the configured journeys' stages in `cjm.stage_ids`, and the bytes of
/// `cjm.event_rows.stage_ids` for a stage map: two per matched journey, big-endian, in the
/// order of the configuration. Numbers are given once per (journey, stage) and never
/// reused, so stored events keep their meaning when the configuration changes.
struct StageCodes {
    /// Per journey of the catalog, per stage: its number.
    private let ids: [[Int16]]

    /// Numbers every stage of `catalog` not numbered yet (committed with the caller's
    /// transaction, or at once outside one) and reads the numbers back.
    init(registering catalog: JourneyCatalog, on connection: PostgresConnection) throws {
        var journeys: [String] = []
        var stages: [String] = []
        for journey in catalog.journeys {
            for stage in journey.stages {
                journeys.append(journey.name)
                stages.append(stage.name)
            }
        }
        var ids = catalog.journeys.map { [Int16](repeating: 0, count: $0.stages.count) }
        guard !journeys.isEmpty else {
            self.ids = ids
            return
        }
        let parameters: [PostgresValue] = [.text(SQLText.textArray(journeys)), .text(SQLText.textArray(stages))]
        _ = try connection.execute(
            """
            INSERT INTO cjm.stage_ids (journey, stage) SELECT * FROM unnest($1::text[], $2::text[])
            ON CONFLICT (journey, stage) DO NOTHING
            """, parameters)
        let result = try connection.execute(
            """
            SELECT s.id, p.n FROM unnest($1::text[], $2::text[]) WITH ORDINALITY p(journey, stage, n)
            JOIN cjm.stage_ids s USING (journey, stage)
            """, parameters)
        var position: [(journey: Int, stage: Int)] = []
        for (j, journey) in catalog.journeys.enumerated() {
            for s in journey.stages.indices { position.append((j, s)) }
        }
        guard result.rowCount == position.count else {
            throw StoreError(
                message: "cannot number the configured stages in cjm.stage_ids",
                hint: "check that the database was migrated by this cjmd (`cjmd migrate`)")
        }
        for row in 0..<result.rowCount {
            guard let id = try result.int64(row: row, column: 0), let n = try result.int64(row: row, column: 1) else {
                continue
            }
            let (j, s) = position[Int(n) - 1]
            ids[j][s] = Int16(id)
        }
        self.ids = ids
    }

    /// The stored bytes of `map` (nil when it matches no journey).
    func bytes(of map: StageMap) -> [UInt8]? {
        guard !map.isEmpty else { return nil }
        var out: [UInt8] = []
        for (j, stages) in ids.enumerated() {
            guard let stage = map[j] else { continue }
            let id = UInt16(bitPattern: stages[stage])
            out.append(UInt8(id >> 8))
            out.append(UInt8(id & 0xFF))
        }
        return out
    }
}
