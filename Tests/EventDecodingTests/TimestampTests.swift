import EventDecoding
import JourneyCore
import Testing

/// Microseconds since the epoch of a UTC civil time, computed independently of RFC3339.
func utcMicros(
    _ year: Int64, _ month: Int64, _ day: Int64, _ hour: Int64 = 0, _ minute: Int64 = 0, _ second: Int64 = 0,
    micros: Int64 = 0
) -> Int64 {
    var days: Int64 = 0
    for y in 1970..<year { days += (y % 4 == 0 && (y % 100 != 0 || y % 400 == 0)) ? 366 : 365 }
    let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
    let monthDays: [Int64] = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]
    days += monthDays.prefix(Int(month - 1)).reduce(0, +) + day - 1
    return ((days * 24 + hour) * 60 + minute) * 60_000_000 + second * 1_000_000 + micros
}

func decodedTime(_ tsValue: String, now: EventTime = testNow, settings: IngestSettings = IngestSettings())
    -> DecodeResult
{
    decode(lineSetting("ts", to: tsValue), now: now, settings: settings)
}

@Suite("Decoding: ts")
struct TimestampTests {
    @Test(
        "RFC 3339 variants with an offset",
        arguments: [
            (#""2026-05-01T10:00:00Z""#, utcMicros(2026, 5, 1, 10)),
            (#""2026-05-01t10:00:00z""#, utcMicros(2026, 5, 1, 10)),
            (#""2026-05-01T12:00:00+02:00""#, utcMicros(2026, 5, 1, 10)),
            (#""2026-05-01T04:30:00-05:30""#, utcMicros(2026, 5, 1, 10)),
            (#""2026-05-01T10:00:00.1Z""#, utcMicros(2026, 5, 1, 10, micros: 100_000)),
            (#""2026-05-01T10:00:00.123456Z""#, utcMicros(2026, 5, 1, 10, micros: 123_456)),
            (#""2026-05-01T10:00:00.000001+00:00""#, utcMicros(2026, 5, 1, 10, micros: 1)),
            (#""2026-05-01T00:30:00+01:00""#, utcMicros(2026, 4, 30, 23, 30)),
            (#""2024-02-29T10:00:00Z""#, utcMicros(2024, 2, 29, 10)),
            (#""2026-05-01T10:00:00\u005a""#, utcMicros(2026, 5, 1, 10)),
        ])
    func rfc3339(value: String, micros: Int64) throws {
        #expect(try #require(decodedTime(value).event).time == EventTime(microseconds: micros))
    }

    @Test(
        "RFC 3339 without an offset, with too many fraction digits, or malformed is invalid_field",
        arguments: [
            #""2026-05-01T10:00:00""#, #""2026-05-01T10:00:00.1234567Z""#, #""2026-05-01""#, #""2026-05-01T10:00Z""#,
            #""2026-02-30T10:00:00Z""#, #""2026-13-01T10:00:00Z""#, #""2026-05-01T24:00:00Z""#,
            #""2026-05-01T10:00:00+0200""#,
            #""2026-05-01T10:00:00.Z""#, #""2026-05-01T10:00:00Z ""#, #""1777629600000""#, #""yesterday""#, #""""#,
        ])
    func malformedString(value: String) throws {
        let rejection = try #require(decodedTime(value).rejection)
        #expect(rejection.reason == .invalidField)
        #expect(rejection.detail.hasPrefix("ts: expected an RFC 3339 time with a UTC offset"))
        #expect(rejection.detail.hasSuffix("got \(value)"), "the detail quotes the value")
    }

    @Test(
        "ts of another type is invalid_field naming the type",
        arguments: [
            ("true", "true"), ("[]", "an array"), (#"{"s":1}"#, "an object"),
            ("1777629600000.5", "1777629600000.5, which is not an integer"),
            ("1.7776296e12", "1.7776296e12, which is not an integer"),
        ])
    func wrongType(value: String, got: String) throws {
        let rejection = try #require(decodedTime(value).rejection)
        #expect(rejection.reason == .invalidField)
        #expect(rejection.detail.hasSuffix("got \(got)"))
    }

    @Test("an integer is epoch milliseconds")
    func epochMillis() throws {
        let micros = utcMicros(2026, 5, 1, 10, micros: 123_000)
        #expect(try #require(decodedTime(String(micros / 1000)).event).time == EventTime(microseconds: micros))
        let fromTimestamp = object([("customer_id", #""c""#), ("event", #""e""#), ("timestamp", String(micros / 1000))])
        #expect(try #require(decode(fromTimestamp).event).time == EventTime(microseconds: micros))
    }

    @Test(
        "integers too large for any clock are out of range, not wrapped around",
        arguments: [
            "99999999999999999999", "9223372036854775807", "9223372036854775", "-9223372036854775808", "-1",
        ])
    func hugeIntegers(value: String) throws {
        let rejection = try #require(decodedTime(value).rejection)
        #expect(rejection.reason == .tsOutOfRange)
        #expect(rejection.detail.hasPrefix("ts: \(value) epoch milliseconds"))
    }

    @Test("2000-01-01T00:00:00Z is the earliest time accepted")
    func lowerBound() throws {
        #expect(decodedTime(#""2000-01-01T00:00:00Z""#).event != nil)
        #expect(decodedTime(#""2000-01-01T01:00:00+01:00""#).event != nil)
        let rejection = try #require(decodedTime(#""1999-12-31T23:59:59.999999Z""#).rejection)
        #expect(rejection.reason == .tsOutOfRange)
        #expect(rejection.detail == "ts: 1999-12-31T23:59:59.999999Z is before 2000-01-01")
        let millis = try #require(decodedTime(String(utcMicros(2000, 1, 1) / 1000 - 1)).rejection)
        #expect(millis.detail == "ts: 946684799999 epoch milliseconds (1999-12-31T23:59:59.999Z) is before 2000-01-01")
    }

    @Test("ts may be up to max_future_skew ahead of the injected clock, not more")
    func futureSkew() throws {
        let now = EventTime(microseconds: utcMicros(2026, 11, 22, 19, 55))
        #expect(decodedTime(#""2026-11-22T20:00:00Z""#, now: now).event != nil)  // exactly now + 5m
        let rejection = try #require(decodedTime(#""2026-11-22T20:00:00.000001Z""#, now: now).rejection)
        #expect(rejection.reason == .tsOutOfRange)
        #expect(
            rejection.detail
                == "ts: 2026-11-22T20:00:00.000001Z is more than 5m ahead of the clock (now 2026-11-22T19:55:00Z)")
        // The same line is fine once the clock has moved on: nothing reads a real clock.
        let later = EventTime(microseconds: utcMicros(2026, 11, 22, 19, 56))
        #expect(decodedTime(#""2026-11-22T20:00:00.000001Z""#, now: later).event != nil)
    }

    @Test("max_future_skew comes from the settings")
    func customSkew() throws {
        var settings = IngestSettings()
        settings.maxFutureSkew = .seconds(1)
        let now = EventTime(microseconds: utcMicros(2026, 5, 1, 10))
        #expect(decodedTime(#""2026-05-01T10:00:01Z""#, now: now, settings: settings).event != nil)
        let rejection = try #require(decodedTime(#""2026-05-01T10:00:02Z""#, now: now, settings: settings).rejection)
        #expect(rejection.detail.contains("more than 1s ahead"))
        #expect(
            decodedTime(String(utcMicros(2026, 5, 1, 10, 0, 2) / 1000), now: now, settings: settings).rejection?.reason
                == .tsOutOfRange)
    }

    @Test("a ts string with \\u0000 is invalid_field")
    func nulInTs() {
        #expect(
            decodedTime(#""2026-05-01T10:00:00Z\u0000""#).rejection?.detail.hasPrefix("ts: contains \\u0000") == true)
    }
}
