import JourneyCore
import Testing

/// `alerts.by_persona`: each persona's instances of a stage are judged on their own, beside
/// all of them, so a spike among one persona fires even when the others dilute it.
@Suite struct PersonaAlertTests {
    /// Minute by minute at stage `cart`: the students give up 10 of 20 from minute 200 on
    /// (half, against a tenth before); the pros, ten times as many, never change.
    static func drive(byPersona: Bool, minutes: Int64 = 320) -> (fired: [DropOffAlert], detector: DropOffDetector) {
        var settings = DropOffDetectorTests.settings()
        settings.byPersona = byPersona
        var detector = DropOffDetector(catalog: DropOffDetectorTests.catalog, settings: settings)
        var fired: [DropOffAlert] = []
        for minute in Int64(0)..<minutes {
            let time = DropOffDetectorTests.start + .minutes(minute)
            let students = minute >= 200 && minute < 260 ? (10, 10) : (2, 18)
            for (persona, (abandoned, advanced)) in [("students", students), ("pros", (20, 180))] {
                for _ in 0..<abandoned {
                    detector.record(journey: 0, stage: 1, at: time, abandoned: true, persona: persona)
                }
                for _ in 0..<advanced {
                    detector.record(journey: 0, stage: 1, at: time, abandoned: false, persona: persona)
                }
            }
            detector.evaluate(through: time + .minutes(1))
            fired += detector.takeTransitions().compactMap { if case .fired(let a) = $0 { a } else { nil } }
        }
        return (fired, detector)
    }

    @Test func aSpikeOfOnePersonaFiresForThatPersona() throws {
        let (fired, _) = Self.drive(byPersona: true)
        let students = fired.filter { $0.persona == "students" }
        #expect(students.count == 1)
        let alert = try #require(students.first)
        #expect(alert.stageName == "cart" && abs(alert.baselineRate - 0.1) < 1e-9)
        #expect(alert.rate >= alert.baselineRate + 0.05)
        #expect(alert.firedAt > DropOffDetectorTests.start + .minutes(200))
        // Diluted by the pros, every customer's rate rises from 10 % to under 14 %: short of
        // min_delta, no alert for all of them.
        #expect(fired.allSatisfy { $0.persona == "students" })
    }

    @Test func withoutByPersonaOnlyEveryInstanceIsJudged() {
        let (fired, detector) = Self.drive(byPersona: false)
        #expect(fired.isEmpty)
        #expect(detector.firingAlerts.allSatisfy { $0.persona == PersonaSettings.all })
    }

    /// A restarted detector, given the stored decisions and firing alerts, carries on as an
    /// uninterrupted one, per persona too.
    @Test func aRestoredDetectorKeepsThePersonaSeries() throws {
        var settings = DropOffDetectorTests.settings()
        settings.byPersona = true
        // Stopped inside the students' spike, while their alert fires.
        let (_, detector) = Self.drive(byPersona: true, minutes: 240)
        var snapshot = DropOffDetector.Snapshot()
        snapshot.firing = detector.firingAlerts
        snapshot.evaluatedThrough = detector.evaluatedThrough.map { EventTime(minuteIndex: $0) }
        snapshot.historyStart = detector.historyStart.map { EventTime(minuteIndex: $0) }
        let restored = DropOffDetector(catalog: DropOffDetectorTests.catalog, settings: settings, restoring: snapshot)
        #expect(restored.firingAlerts.map(\.persona).sorted() == detector.firingAlerts.map(\.persona).sorted())
        #expect(restored.firingAlerts.contains { $0.persona == "students" })
    }
}
