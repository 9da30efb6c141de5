import JourneyCore
import PostgresClient

/// Writing the derived rows of a batch: instances, critical moments and touchpoint
/// activity, each by binary or text COPY in key order, new rows straight into their table
/// and the others through staging and one set-based upsert.
extension DerivedRowWriter {
    /// Writes instance rows: new ones (the first `newCount`, never written before) are COPYed
    /// straight into the table; the others go through staging and one upsert. Should a new
    /// one exist after all (a concurrent writer), all go the upsert way.
    func writeInstances(_ instances: [InstanceRecord], newCount: Int) throws {
        guard !instances.isEmpty else { return }
        let upserted = try insertingNew(
            instances, newCount: newCount, into: "cjm.instance_rows", copy: copyInstances)
        guard !upserted.isEmpty else { return }
        try copyInstances(upserted, into: "pg_temp.stage_instances")
        // First touches are appended: a record holds only those since its last write.
        _ = try connection.execute(
            """
            INSERT INTO cjm.instance_rows AS i SELECT * FROM pg_temp.stage_instances
            ON CONFLICT (journey, customer_id, instance) DO UPDATE SET
                entered_at = EXCLUDED.entered_at, stage_index = EXCLUDED.stage_index, stage = EXCLUDED.stage,
                reached_at = EXCLUDED.reached_at, status = EXCLUDED.status, last_seen = EXCLUDED.last_seen,
                exited_at = EXCLUDED.exited_at, last_event = EXCLUDED.last_event,
                last_touchpoint = EXCLUDED.last_touchpoint, stage_events = EXCLUDED.stage_events,
                stage_sentiment_count = EXCLUDED.stage_sentiment_count,
                stage_sentiment_sum = EXCLUDED.stage_sentiment_sum, stage_revenue = EXCLUDED.stage_revenue,
                pain_points = EXCLUDED.pain_points, moments = EXCLUDED.moments,
                first_touches = i.first_touches || EXCLUDED.first_touches, persona = EXCLUDED.persona,
                persona_first_touches =
                    CASE WHEN i.persona_first_touches IS NULL AND EXCLUDED.persona_first_touches IS NULL THEN NULL
                         ELSE coalesce(i.persona_first_touches, i.first_touches)
                              || coalesce(EXCLUDED.persona_first_touches, EXCLUDED.first_touches) END
            """)
    }

    /// COPYs the first `newCount` records into `table` under a savepoint; returns the records
    /// left to upsert (the rest, or all of them when the table refused a new one as present).
    func insertingNew<Record>(
        _ records: [Record], newCount: Int, into table: String,
        copy: (ArraySlice<Record>, String) throws -> Void
    ) throws -> ArraySlice<Record> {
        guard newCount > 0 else { return records[...] }
        try connection.executeScript("SAVEPOINT cjmd_insert_new")
        do {
            try copy(records[..<newCount], table)
            try connection.executeScript("RELEASE SAVEPOINT cjmd_insert_new")
            return records[newCount...]
        } catch let error as PostgresError where error.sqlState == "23505" {
            try connection.executeScript("ROLLBACK TO SAVEPOINT cjmd_insert_new; RELEASE SAVEPOINT cjmd_insert_new")
            logger.warning("rows thought new were in \(table) already; upserting them", metadata: ["error": "\(error)"])
            return records[...]
        }
    }

    /// COPYs instance rows into `table` (`cjm.instance_rows` or its staging twin), in
    /// binary: the server then reads arrays and timestamps without parsing them.
    func copyInstances(_ instances: ArraySlice<InstanceRecord>, into table: String) throws {
        try connection.copyInBinary("COPY \(table) FROM STDIN (FORMAT binary)") { writer in
            for index in KeyOrder.instances(instances, catalog: catalog) {
                let r = instances[index]
                let journey = catalog.journeys[r.journey]
                writer.appendText(journey.name)
                writer.appendText(r.customerID)
                writer.appendInt32(r.instance)
                writer.appendTimestamp(microsecondsSinceEpoch: r.enteredAt.microseconds)
                writer.appendInt32(Int32(r.stageIndex))
                writer.appendText(journey.stages[r.stageIndex].name)
                writer.beginArray(of: .timestamptz, count: r.stages.count)
                for stage in r.stages {
                    writer.appendArrayElement(timestampMicroseconds: stage.reachedAt?.microseconds)
                }
                writer.endArray()
                writer.appendText(r.status.rawValue)
                writer.appendTimestamp(microsecondsSinceEpoch: r.lastSeen.microseconds)
                if let exited = r.exitedAt {
                    writer.appendTimestamp(microsecondsSinceEpoch: exited.microseconds)
                } else {
                    writer.appendNull()
                }
                writer.appendText(r.lastEvent)
                writer.appendText(r.lastTouchpoint)
                writer.beginArray(of: .int4, count: r.stages.count)
                for stage in r.stages { writer.appendArrayElement(int4: stage.events) }
                writer.endArray()
                writer.beginArray(of: .int4, count: r.stages.count)
                for stage in r.stages { writer.appendArrayElement(int4: stage.sentimentCount) }
                writer.endArray()
                writer.beginArray(of: .float8, count: r.stages.count)
                for stage in r.stages { writer.appendArrayElement(float8: stage.sentimentSum) }
                writer.endArray()
                writer.beginArray(of: .numeric, count: r.stages.count)
                for stage in r.stages { writer.appendArrayElement(numericUnits: stage.revenue.micros, scale: 6) }
                writer.endArray()
                writer.appendJSONB(r.painPoints.isEmpty ? "[]" : SQLText.painPoints(r.painPoints, journey: journey))
                writer.appendInt32(r.moments)
                writer.appendText(TouchpointPairList.encode(r.firstTouches))
                writer.appendText(r.persona)
                if let pairs = r.personaFirstTouches {
                    writer.appendText(TouchpointPairList.encode(pairs))
                } else {
                    writer.appendNull()
                }
                writer.appendInt16(part)
                try writer.endRow()
            }
        }
    }

    /// Writes the instances and moments of `changes` and seals every closed instance: those
    /// closing now are staged (`pg_temp.closing_*`, no WAL, emptied at commit) instead of
    /// written as rows only to be moved at once; `cjm.seal_closed_instances` moves them and
    /// the closed rows listed in `cjm.seal_queue`, with their moments, into
    /// `cjm.sealed_instances`.
    func writeSealing(_ changes: EngineChanges, chunkSize: Int) throws {
        var open: [InstanceRecord] = []
        var openNew = 0
        var closing: [InstanceRecord] = []
        var closingKeys = Set<InstanceKey>()
        for (index, record) in changes.instances.enumerated() {
            if record.exitedAt != nil {
                closing.append(record)
                closingKeys.insert(InstanceKey(record.journey, record.customerID, record.instance))
            } else {
                if index < changes.newInstanceCount { openNew += 1 }
                open.append(record)
            }
        }
        var openMoments: [CriticalMomentRecord] = []
        var openMomentsNew = 0
        var closingMoments: [CriticalMomentRecord] = []
        for (index, moment) in changes.moments.enumerated() {
            if closingKeys.contains(InstanceKey(moment.journey, moment.customerID, moment.instance)) {
                closingMoments.append(moment)
            } else {
                if index < changes.newMomentCount { openMomentsNew += 1 }
                openMoments.append(moment)
            }
        }
        try writeInstances(open, newCount: openNew)
        try writeMoments(openMoments, newCount: openMomentsNew)
        // Emptied at commit, but a rebuild seals several times in one transaction.
        try connection.executeScript("TRUNCATE pg_temp.closing_instances, pg_temp.closing_moments")
        if !closing.isEmpty { try copyInstances(closing[...], into: "pg_temp.closing_instances") }
        if !closingMoments.isEmpty { try copyMoments(closingMoments[...], into: "pg_temp.closing_moments") }
        _ = try connection.execute(
            "SELECT cjm.seal_closed_instances($1::integer, $2::integer)",
            [.int(Int64(max(1, chunkSize))), .int(Int64(part))])
    }

    /// Lists the closed instances among `instances`, just written as rows, in
    /// `cjm.seal_queue`: the next seal moves exactly those, each found by its key, however
    /// many instances are open.
    func queueForSealing(_ instances: [InstanceRecord]) throws {
        guard instances.contains(where: { $0.exitedAt != nil }) else { return }
        try connection.copyIn("COPY cjm.seal_queue (journey, customer_id, instance, part) FROM STDIN") { writer in
            for record in instances where record.exitedAt != nil {
                writer.appendText(catalog.journeys[record.journey].name)
                writer.appendText(record.customerID)
                writer.appendInteger(Int(record.instance))
                writer.appendInteger(part)
                try writer.endRow()
            }
        }
    }

    /// An instance's key: journey, customer, instance number.
    struct InstanceKey: Hashable {
        var journey: Int
        var customerID: String
        var instance: Int32
        init(_ journey: Int, _ customerID: String, _ instance: Int32) {
            self.journey = journey
            self.customerID = customerID
            self.instance = instance
        }
    }

    /// Writes moments: new ones straight into the table, recoveries through an upsert.
    func writeMoments(_ moments: [CriticalMomentRecord], newCount: Int) throws {
        guard !moments.isEmpty else { return }
        let upserted = try insertingNew(moments, newCount: newCount, into: "cjm.moment_rows", copy: copyMoments)
        guard !upserted.isEmpty else { return }
        try copyMoments(upserted, into: "pg_temp.stage_moments")
        // A moment is immutable once detected but for its recovery time.
        _ = try connection.execute(
            """
            INSERT INTO cjm.moment_rows SELECT * FROM pg_temp.stage_moments
            ON CONFLICT (journey, customer_id, instance, moment) DO UPDATE SET recovered_at = EXCLUDED.recovered_at
            """)
    }

    /// COPYs moment rows into `table` (`cjm.moment_rows` or its staging twin), in binary.
    func copyMoments(_ moments: ArraySlice<CriticalMomentRecord>, into table: String) throws {
        try connection.copyInBinary("COPY \(table) FROM STDIN (FORMAT binary)") { writer in
            for index in KeyOrder.moments(moments, catalog: catalog) {
                let m = moments[index]
                let journey = catalog.journeys[m.journey]
                writer.appendText(journey.name)
                writer.appendText(m.customerID)
                writer.appendInt32(m.instance)
                writer.appendInt32(m.moment)
                writer.appendInt32(Int32(m.stageIndex))
                writer.appendText(journey.stages[m.stageIndex].name)
                writer.appendText(m.reason.rawValue)
                writer.appendText(m.lastEvent)
                writer.appendText(m.lastTouchpoint)
                writer.appendTimestamp(microsecondsSinceEpoch: m.lastSeen.microseconds)
                writer.appendInterval(microseconds: m.timeInStage.microseconds)
                writer.appendJSONB(SQLText.painPoints(m.painPoints, journey: journey))
                writer.appendTimestamp(microsecondsSinceEpoch: m.detectedAt.microseconds)
                if let recovered = m.recoveredAt {
                    writer.appendTimestamp(microsecondsSinceEpoch: recovered.microseconds)
                } else {
                    writer.appendNull()
                }
                writer.appendText(m.persona)
                try writer.endRow()
            }
        }
    }

    /// Keeps the personas of the customers whose persona changed (`cjm.customer_personas`):
    /// COPYed in key order into staging, then one upsert.
    func writePersonas(_ personas: [CustomerPersona]) throws {
        guard !personas.isEmpty else { return }
        let order = personas.indices.sorted {
            KeyOrder.compareBytes(personas[$0].customerID, personas[$1].customerID) < 0
        }
        try connection.copyInBinary("COPY pg_temp.stage_personas FROM STDIN (FORMAT binary)") { writer in
            for index in order {
                let persona = personas[index]
                writer.appendText(persona.customerID)
                writer.appendText(persona.persona)
                writer.appendTimestamp(microsecondsSinceEpoch: persona.setAt.microseconds)
                writer.appendInt16(part)
                try writer.endRow()
            }
        }
        _ = try connection.execute(
            """
            INSERT INTO cjm.customer_personas SELECT * FROM pg_temp.stage_personas
            ON CONFLICT (customer_id) DO UPDATE SET persona = EXCLUDED.persona, set_at = EXCLUDED.set_at
            """)
    }

    /// Adds each touchpoint's activity, and its customers met there for the first time, to
    /// `cjm.touchpoint_stats_by_part` (this writer's `part`).
    func writeTouchpoints(_ tallies: [TouchpointKey: TouchpointTally]) throws {
        guard !tallies.isEmpty else { return }
        try connection.copyIn("COPY pg_temp.stage_touchpoints FROM STDIN") { writer in
            for key in KeyOrder.touchpoints(tallies.keys, catalog: catalog) {
                let tally = tallies[key]!
                writer.appendText(catalog.journeys[key.journey].name)
                writer.appendInteger(key.stageIndex)
                writer.appendText(key.touchpoint)
                writer.appendInteger(tally.events)
                writer.appendInteger(tally.sentimentCount)
                writer.appendDouble(tally.sentimentSum)
                writer.appendText(tally.revenue.description)
                writer.appendInteger(tally.customers)
                writer.appendText(key.persona)
                writer.appendInteger(part)
                try writer.endRow()
            }
        }
        _ = try connection.execute(
            """
            INSERT INTO cjm.touchpoint_stats_by_part AS t SELECT * FROM pg_temp.stage_touchpoints
            ON CONFLICT (journey, stage_index, touchpoint, persona, part) DO UPDATE SET
                events = t.events + EXCLUDED.events, sentiment_count = t.sentiment_count + EXCLUDED.sentiment_count,
                sentiment_sum = t.sentiment_sum + EXCLUDED.sentiment_sum, revenue = t.revenue + EXCLUDED.revenue,
                customers = t.customers + EXCLUDED.customers
            """)
    }
}
