import EventDecoding
import JourneyCore

/// The clock every test decodes against unless it says otherwise: 2026-05-01T12:00:00Z.
let testNow = EventTime(seconds: 1_777_636_800)

/// A minimal valid line; tests add or replace members around it.
let minimalLine = #"{"customer_id":"c1","event":"page_view","ts":"2026-05-01T10:00:00Z"}"#

func decode(_ line: String, now: EventTime = testNow, settings: IngestSettings = IngestSettings()) -> DecodeResult {
    EventDecoder(settings: settings).decode(line, now: now)
}

func decodeBytes(_ bytes: [UInt8], now: EventTime = testNow, settings: IngestSettings = IngestSettings())
    -> DecodeResult
{
    EventDecoder(settings: settings).decode(bytes, now: now)
}

/// A line with the minimal required members plus `extra` members (raw JSON text).
func lineWith(_ extra: String) -> String {
    #"{"customer_id":"c1","event":"page_view","ts":"2026-05-01T10:00:00Z","# + extra + "}"
}

extension DecodeResult {
    var event: TouchpointEvent? {
        if case .event(let event) = self { return event }
        return nil
    }

    var rejection: Rejection? {
        if case .rejected(let rejection) = self { return rejection }
        return nil
    }

    var isBlank: Bool {
        if case .blank = self { return true }
        return false
    }
}

/// SplitMix64: a tiny seeded generator so randomized tests repeat exactly.
struct SeededGenerator: RandomNumberGenerator {
    private var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// A JSON string literal for `text`, written by the test side (independent of the decoder):
/// quotes, backslashes and control characters are escaped; with `escapeNonASCII`, every
/// non-ASCII scalar is written as `\uXXXX` (a surrogate pair above U+FFFF).
func jsonString(_ text: String, escapeNonASCII: Bool = false) -> String {
    var out = "\""
    for scalar in text.unicodeScalars {
        switch scalar {
        case "\"": out += "\\\""
        case "\\": out += "\\\\"
        case "\n": out += "\\n"
        case "\t": out += "\\t"
        case _ where scalar.value < 0x20: out += unicodeEscape(UInt16(scalar.value))
        case _ where scalar.value >= 0x80 && escapeNonASCII:
            if scalar.value > 0xFFFF {
                let v = scalar.value - 0x10000
                out += unicodeEscape(UInt16(0xD800 + (v >> 10))) + unicodeEscape(UInt16(0xDC00 + (v & 0x3FF)))
            } else {
                out += unicodeEscape(UInt16(scalar.value))
            }
        default: out.unicodeScalars.append(scalar)
        }
    }
    return out + "\""
}

func unicodeEscape(_ unit: UInt16) -> String {
    let hex = String(unit, radix: 16)
    return "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
}
