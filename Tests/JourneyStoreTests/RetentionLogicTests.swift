import DaemonSettings
import EventDecoding
import IngestEnvelope
import JourneyCore
import Testing

@testable import JourneyStore

/// The pure parts of retention: days, horizons, the growth warning, the dead letter's text.
struct RetentionLogicTests {
    @Test func daysAreUTCDaysRoundedDown() {
        #expect(DayPartitions.day(of: RFC3339.parse("1970-01-01T00:00:00Z")!) == 0)
        #expect(DayPartitions.day(of: RFC3339.parse("1970-01-01T23:59:59.999999Z")!) == 0)
        #expect(DayPartitions.day(of: RFC3339.parse("1969-12-31T23:59:59.999999Z")!) == -1)
        #expect(DayPartitions.day(of: RFC3339.parse("2026-12-06T00:00:00Z")!) == 20_793)
        #expect(JourneySink.dayText(20_793) == "2026-12-06")
    }

    @Test func theHorizonFollowsTheWatermark() {
        let watermark = RFC3339.parse("2026-12-06T10:00:00Z")!
        #expect(RetentionSettings().eventsHorizon(watermark: watermark) == nil)
        let settings = RetentionSettings(events: .days(90), rejectedEvents: .days(30))
        #expect(settings.eventsHorizon(watermark: watermark) == RFC3339.parse("2026-09-07T10:00:00Z"))
        #expect(settings.eventsHorizon(watermark: .distantPast) == nil)
        #expect(settings.rejectedHorizon(now: watermark) == RFC3339.parse("2026-11-06T10:00:00Z"))
    }

    @Test func aDropIsDueOnceTheHorizonPassesTheStartOfADay() {
        let keeper = RetentionKeeper(settings: RetentionSettings(events: .days(2)))
        let now = RFC3339.parse("2026-12-06T10:00:00Z")!
        #expect(!keeper.isDue(watermark: .distantPast, now: now))
        #expect(keeper.isDue(watermark: now, now: now))
        #expect(!RetentionKeeper(settings: RetentionSettings()).isDue(watermark: now, now: now))
    }

    @Test func growthIsWarnedAboveFivePercentADay() {
        var watch = StorageGrowthWatch()
        let gib: Int64 = 1 << 30
        #expect(watch.measuredAfterDrop(bytes: 10 * gib, keptFromDay: 100) == nil)
        // Steady: the same size after each day's drop.
        #expect(watch.measuredAfterDrop(bytes: 10 * gib, keptFromDay: 101) == nil)
        // 4 % in a day: no warning.
        #expect(watch.measuredAfterDrop(bytes: 10 * gib + 4 * gib / 100, keptFromDay: 102) == nil)
        // 12 % over two days is 6 % a day.
        let base = 10 * gib + 4 * gib / 100
        let grown = watch.measuredAfterDrop(bytes: base + base * 12 / 100, keptFromDay: 104)
        #expect(grown?.days == 2)
        #expect(grown?.bytesPerDay == base * 12 / 100 / 2)
        // A small database growing fast is not worth a warning.
        var small = StorageGrowthWatch()
        _ = small.measuredAfterDrop(bytes: 100 << 20, keptFromDay: 1)
        #expect(small.measuredAfterDrop(bytes: 150 << 20, keptFromDay: 2) == nil)
    }

    @Test func theDeadLetterOfALateEventDecodesToTheEvent() {
        let event = TouchpointEvent(
            eventID: "id \"1\"\n", customerID: "c\\1\u{1}", name: "päge_view",
            time: RFC3339.parse("2026-01-02T03:04:05.678901Z")!,
            touchpoint: "web", journey: "j", sentiment: -0.25, revenue: DecimalText(json: "12.5"),
            propertiesJSON: #"{"k":[1,{"x":null}]}"#)
        let line = BehindRetention.deadLetter(
            AcceptedEvent(event: event, source: "s", receivedAt: .distantPast), horizon: event.time + .days(1),
            retention: .days(90))
        #expect(line.reason == .behindRetention)
        #expect(line.detail.hasPrefix("ts: 2026-01-02T03:04:05.678901Z is before the retention horizon 2026-01-03"))
        guard case .event(let decoded) = EventDecoder(settings: IngestSettings()).decode(line.raw[...], now: event.time)
        else {
            Issue.record("not an event: \(String(decoding: line.raw, as: UTF8.self))")
            return
        }
        #expect(decoded == event)
    }
}
