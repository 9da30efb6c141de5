import Alerting
import Foundation
import JourneyCore
import Testing

@Suite("Alertmanager v2 payload")
struct AlertmanagerPayloadTests {
    let now = EventTime(seconds: 1_777_630_000)
    let ttl = TimeSpan.seconds(240)

    @Test("a firing alert carries the stage labels, the measurements, and endsAt = now + TTL")
    func firingAlert() throws {
        let alert = Fixtures.firingAlert()
        let objects = try jsonObjects(AlertmanagerPayload.encode([alert], now: now, firingTTL: ttl))
        #expect(objects.count == 1)
        let object = try #require(objects.first)

        let labels = try #require(object["labels"] as? [String: String])
        #expect(
            labels == [
                "alertname": "CJMDropOffSpike", "journey": "checkout", "stage": "payment",
                "stage_index": "2", "severity": "warning",
            ])

        let annotations = try #require(object["annotations"] as? [String: String])
        #expect(Double(try #require(annotations["rate"])) == 55.0 / 130.0)
        #expect(Double(try #require(annotations["baseline_rate"])) == 0.12)
        #expect(Double(try #require(annotations["z"])) == 5.125)
        #expect(annotations["decided"] == "130")
        #expect(annotations["window_start"].flatMap(RFC3339.parse) == alert.windowStart)
        #expect(annotations["window_end"].flatMap(RFC3339.parse) == alert.windowEnd)
        let summary = try #require(annotations["summary"])
        #expect(summary.contains("\"payment\""))
        #expect(summary.contains("\"checkout\""))
        #expect(summary.contains("42.3%"))  // 55 of 130
        #expect(summary.contains("12.0%"))
        #expect(summary.contains("z = 5.13, p = 3.1e-12"))
        #expect(Double(try #require(annotations["p_value"])) == 3.14e-12)
        #expect(summary.contains("2026-05-01T09:45:00Z to 2026-05-01T10:00:00Z"))
        #expect(!summary.contains("\n"))

        #expect((object["startsAt"] as? String).flatMap(RFC3339.parse) == alert.firedAt)
        #expect((object["endsAt"] as? String).flatMap(RFC3339.parse) == now + ttl)
        #expect(object["generatorURL"] == nil)
        #expect(Set(object.keys) == ["labels", "annotations", "startsAt", "endsAt"])
    }

    @Test("an alert of one persona's instances carries the persona as a label and in the summary")
    func personaAlert() throws {
        var alert = Fixtures.firingAlert()
        alert.persona = "students"
        let object = try #require(try jsonObjects(AlertmanagerPayload.encode([alert], now: now, firingTTL: ttl)).first)
        let labels = try #require(object["labels"] as? [String: String])
        #expect(labels["persona"] == "students")
        #expect(labels.count == 6)
        let annotations = try #require(object["annotations"] as? [String: String])
        #expect(annotations["summary"]?.contains("of journey \"checkout\" for persona \"students\" is") == true)
    }

    @Test("a resolved alert ends at its resolution time, whatever the clock says")
    func resolvedAlert() throws {
        let resolvedAt = Fixtures.firingAlert().firedAt + .minutes(20)
        let alert = Fixtures.resolved(Fixtures.firingAlert(), at: resolvedAt)
        let object = try #require(try jsonObjects(AlertmanagerPayload.encode([alert], now: now, firingTTL: ttl)).first)
        #expect((object["startsAt"] as? String).flatMap(RFC3339.parse) == alert.firedAt)
        #expect((object["endsAt"] as? String).flatMap(RFC3339.parse) == resolvedAt)
    }

    @Test("z is \"inf\" when the baseline had no drop-offs")
    func infiniteZ() throws {
        let alert = Fixtures.firingAlert(z: nil)
        let object = try #require(try jsonObjects(AlertmanagerPayload.encode([alert], now: now, firingTTL: ttl)).first)
        let annotations = try #require(object["annotations"] as? [String: String])
        #expect(annotations["z"] == "inf")
        #expect(annotations["summary"]?.contains("z = inf") == true)
    }

    @Test("a firing alert from the future still ends after it starts")
    func futureFiring() throws {
        let alert = Fixtures.firingAlert(firedAt: now + .hours(2))
        let object = try #require(try jsonObjects(AlertmanagerPayload.encode([alert], now: now, firingTTL: ttl)).first)
        let startsAt = try #require((object["startsAt"] as? String).flatMap(RFC3339.parse))
        let endsAt = try #require((object["endsAt"] as? String).flatMap(RFC3339.parse))
        #expect(endsAt > startsAt)
    }

    @Test("several alerts become one array, in order; an empty list is []")
    func severalAlerts() throws {
        var second = Fixtures.firingAlert()
        second.journeyName = "signup"
        second.stageName = "verify \"email\"\n\\ né"
        second.stageIndex = 0
        let objects = try jsonObjects(
            AlertmanagerPayload.encode([Fixtures.firingAlert(), second], now: now, firingTTL: ttl))
        let journeys = objects.compactMap { ($0["labels"] as? [String: String])?["journey"] }
        #expect(journeys == ["checkout", "signup"])
        // Quotes, backslashes, control characters and non-ASCII text survive the escaping.
        #expect((objects[1]["labels"] as? [String: String])?["stage"] == "verify \"email\"\n\\ né")
        #expect(AlertmanagerPayload.encode([], now: now, firingTTL: ttl) == Array("[]".utf8))
    }
}
