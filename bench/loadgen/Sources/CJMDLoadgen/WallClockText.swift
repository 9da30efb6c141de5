import Glibc

/// RFC 3339 timestamps of the wall clock, in UTC with microseconds, written straight into a
/// byte buffer. The daemon's live watermark is the wall clock minus `allowed_lateness`, so
/// generated events must carry the current time.
///
/// `microsecondDigit` fixes the last microsecond digit: load events end in 0 and latency
/// probes in 5, so a probe's entry time identifies its own instance in `cjm.funnel_between`
/// even when load events are stamped within the same microsecond.
struct WallClockText {
    private var cachedSecond = -1
    /// "YYYY-MM-DDTHH:MM:SS" of `cachedSecond`.
    private var secondText: [UInt8] = []

    /// Appends the current time, e.g. `2026-05-01T10:00:00.123450Z`.
    mutating func appendNow(to buffer: inout [UInt8], microsecondDigit: Int) {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        let second = now.tv_sec
        if second != cachedSecond { cacheSecond(second) }
        let micros = now.tv_nsec / 1000
        buffer.append(contentsOf: secondText)
        buffer.append(UInt8(ascii: "."))
        buffer.appendDecimal(micros - micros % 10 + microsecondDigit, width: 6)
        buffer.append(UInt8(ascii: "Z"))
    }

    /// The current time as text (for the probe, which also puts it into SQL).
    mutating func now(microsecondDigit: Int) -> String {
        var bytes: [UInt8] = []
        appendNow(to: &bytes, microsecondDigit: microsecondDigit)
        return String(decoding: bytes, as: UTF8.self)
    }

    private mutating func cacheSecond(_ second: Int) {
        var seconds = time_t(second)
        var parts = tm()
        gmtime_r(&seconds, &parts)
        var text: [UInt8] = []
        text.appendDecimal(Int(parts.tm_year) + 1900, width: 4)
        text.append(UInt8(ascii: "-"))
        text.appendDecimal(Int(parts.tm_mon) + 1, width: 2)
        text.append(UInt8(ascii: "-"))
        text.appendDecimal(Int(parts.tm_mday), width: 2)
        text.append(UInt8(ascii: "T"))
        text.appendDecimal(Int(parts.tm_hour), width: 2)
        text.append(UInt8(ascii: ":"))
        text.appendDecimal(Int(parts.tm_min), width: 2)
        text.append(UInt8(ascii: ":"))
        text.appendDecimal(Int(parts.tm_sec), width: 2)
        secondText = text
        cachedSecond = second
    }
}
