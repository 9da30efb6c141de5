import Foundation

/// A deterministic NDJSON file of good events mixed with every kind of garbage issue 7
/// names: binary, invalid UTF-8, deep nesting, huge numbers, 10 MB lines, NUL bytes,
/// SQL-looking strings, characters of every Unicode plane, and the usual broken JSON.
///
/// Good lines carry ids `good-N` and awkward but valid content; every bad line is certain
/// to be rejected (it breaks a rule of docs/events.md outright), so the expected outcome of each
/// line is known without asking the decoder.
struct MixedGarbage {
    /// The file's bytes, one line per element of `kinds`.
    private(set) var bytes: [UInt8] = []
    /// The customer id of every good line, by event id.
    private(set) var goodCustomers: [String: String] = [:]
    /// Bad lines by kind, for the report.
    private(set) var badByKind: [String: Int] = [:]
    private(set) var lineCount = 0
    var badCount: Int { badByKind.values.reduce(0, +) }

    static let sqlLooking = [
        "'; DROP TABLE cjm.events; --", "Robert'); DELETE FROM cjm.journey_instances WHERE ('1'='1",
        "\\N", "\\.", "$$; COPY cjm.events TO PROGRAM 'id'; $$", "1 OR 1=1", "E'\\\\x00'",
    ]
    /// One character or sequence from each Unicode plane in use, plus scripts and marks.
    static let unicode = [
        "é", "中文", "שלום", "مرحبا", "e\u{301}", "\u{FEFF}", "\u{2028}", "😀", "👩‍👩‍👧",
        "\u{20000}", "\u{30000}", "\u{E0041}", "\u{F0000}", "\u{10FFFD}", "\u{1D11E}",
    ]

    init(lines: Int, hugeLines: Int, hugeLineBytes: Int, timestamp: String, seed: UInt64) {
        var rng = SplitMix(seed: seed)
        bytes.reserveCapacity(lines * 120 + hugeLines * hugeLineBytes)
        let hugeEvery = hugeLines > 0 ? lines / hugeLines : Int.max
        for n in 0..<lines {
            if n % hugeEvery == hugeEvery / 2 {
                appendBad(
                    "10 MB line",
                    Array("{\"customer_id\":\"".utf8)
                        + [UInt8](repeating: UInt8(ascii: "x"), count: hugeLineBytes) + Array("\"}".utf8))
                continue
            }
            if rng.next() % 5 == 0 {
                appendGood(n, timestamp: timestamp, rng: &rng)
            } else {
                appendBadLine(timestamp: timestamp, rng: &rng)
            }
        }
    }

    private mutating func appendGood(_ n: Int, timestamp: String, rng: inout SplitMix) {
        let id = "good-\(n)"
        let customer = "c-\(rng.next() % 5000)-" + Self.unicode[Int(rng.next() % UInt64(Self.unicode.count))]
        let sql = Self.sqlLooking[Int(rng.next() % UInt64(Self.sqlLooking.count))]
        let text = Self.unicode.shuffledDeterministically(&rng).prefix(4).joined()
        let line =
            "{\"event_id\":\(Self.json(id)),\"customer_id\":\(Self.json(customer)),\"event\":\"visit\","
            + "\"ts\":\"\(timestamp)\",\"touchpoint\":\"web\",\"properties\":{\"q\":\(Self.json(sql)),"
            + "\"u\":\(Self.json(text, escapeNonASCII: n % 2 == 0)),\"n\":\(rng.next() % 1_000_000)}}"
        goodCustomers[id] = customer
        append(Array(line.utf8))
    }

    private mutating func appendBadLine(timestamp: String, rng: inout SplitMix) {
        let ts = "\"ts\":\"\(timestamp)\""
        switch rng.next() % 12 {
        case 0:
            // Binary: a control byte first, then anything but a newline.
            var line: [UInt8] = [0x01]
            for _ in 0..<(rng.next() % 200) {
                let byte = UInt8(truncatingIfNeeded: rng.next())
                line.append(byte == 0x0A ? 0x0B : byte)
            }
            appendBad("binary", line)
        case 1:
            let invalid: [[UInt8]] = [
                [0xFF], [0xC0, 0x80], [0xED, 0xA0, 0x80], [0xE2, 0x82], [0xF4, 0x90, 0x80, 0x80],
            ]
            appendBad(
                "invalid UTF-8",
                Array("{\"customer_id\":\"c".utf8) + invalid[Int(rng.next() % 5)]
                    + Array("\",\"event\":\"visit\",\(ts)}".utf8))
        case 2:
            let depth = 65 + Int(rng.next() % 2000)
            appendBad(
                "deep nesting",
                Array("{\"customer_id\":\"c\",\"event\":\"visit\",\(ts),\"properties\":{\"a\":".utf8)
                    + [UInt8](repeating: UInt8(ascii: "["), count: depth)
                    + [UInt8](repeating: UInt8(ascii: "]"), count: depth)
                    + Array("}}".utf8))
        case 3:
            let numbers = [
                "\"ts\":1e999999", "\"ts\":99999999999999999999999999999", "\(ts),\"sentiment\":1e999",
                "\(ts),\"sentiment\":-123456789012345678901234567890", "\(ts),\"properties\":{\"n\":1e999999}",
            ]
            appendBad(
                "huge number", Array("{\"customer_id\":\"c\",\"event\":\"visit\",\(numbers[Int(rng.next() % 5)])}".utf8)
            )
        case 4:
            appendBad(
                "NUL byte", Array("{\"customer_id\":\"c".utf8) + [0x00] + Array("x\",\"event\":\"visit\",\(ts)}".utf8))
        case 5:
            let sql = Self.sqlLooking[Int(rng.next() % UInt64(Self.sqlLooking.count))]
            appendBad(
                "SQL-looking, no ts", Array("{\"customer_id\":\(Self.json(sql)),\"event\":\(Self.json(sql))}".utf8))
        case 6:
            let shapes = ["[1,2,3]", "\"just a string\"", "42", "null", "true", "{}", "[{\"customer_id\":\"c\"}]"]
            appendBad("not an object", Array(shapes[Int(rng.next() % UInt64(shapes.count))].utf8))
        case 7:
            let broken = [
                "{\"customer_id\":\"c\",\"event\":\"visit\",\"ts\":\"2026-", "{\"customer_id\":\"c\",,}",
                "{\"customer_id\":'c'}", "{customer_id:\"c\"}", "{\"a\":1}}", "{\"customer_id\":\"c\"\"event\":1}",
                "{\"customer_id\":\"\\x41\"}", "{\"customer_id\":\"\\ud800\"}",
            ]
            appendBad("broken JSON", Array(broken[Int(rng.next() % UInt64(broken.count))].utf8))
        case 8:
            let times = [
                "\"1999-12-31T23:59:59Z\"", "\"2999-01-01T00:00:00Z\"", "\"2026-13-01T00:00:00Z\"",
                "\"2026-01-01 00:00:00\"", "-1", "\"yesterday\"",
            ]
            appendBad(
                "bad ts", Array("{\"customer_id\":\"c\",\"event\":\"visit\",\"ts\":\(times[Int(rng.next() % 6)])}".utf8)
            )
        case 9:
            let fields = [
                "\"customer_id\":42,\"event\":\"visit\",\(ts)",
                "\"customer_id\":\"\(String(repeating: "c", count: 257))\",\"event\":\"visit\",\(ts)",
                "\"customer_id\":\"c\",\"event\":\"\(String(repeating: "e", count: 129))\",\(ts)",
                "\"customer_id\":\"\",\"event\":\"visit\",\(ts)",
                "\"customer_id\":\"c\",\"event\":\"visit\",\(ts),\"properties\":[1]",
                "\"customer_id\":\"c\",\"event\":\"visit\",\(ts),\"sentiment\":\"happy\"",
            ]
            appendBad("wrong field", Array("{\(fields[Int(rng.next() % 6)])}".utf8))
        case 10:
            // Every plane, but no event name.
            appendBad("Unicode, no event", Array("{\"customer_id\":\(Self.json(Self.unicode.joined())),\(ts)}".utf8))
        default:
            appendBad("escaped NUL", Array("{\"customer_id\":\"c\\u0000d\",\"event\":\"visit\",\(ts)}".utf8))
        }
    }

    private mutating func appendBad(_ kind: String, _ line: [UInt8]) {
        badByKind[kind, default: 0] += 1
        append(line)
    }

    private mutating func append(_ line: [UInt8]) {
        bytes += line
        bytes.append(0x0A)
        lineCount += 1
    }

    /// A JSON string literal; non-ASCII as UTF-8, or as `\u` escapes (surrogate pairs).
    static func json(_ text: String, escapeNonASCII: Bool = false) -> String {
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case _ where scalar.value < 0x20: out += String(format: "\\u%04x", scalar.value)
            case _ where scalar.value >= 0x80 && escapeNonASCII:
                for unit in String(scalar).utf16 { out += String(format: "\\u%04x", unit) }
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }
}

extension Array {
    fileprivate func shuffledDeterministically(_ rng: inout SplitMix) -> [Element] {
        var copy = self
        for i in stride(from: copy.count - 1, to: 0, by: -1) {
            copy.swapAt(i, Int(rng.next() % UInt64(i + 1)))
        }
        return copy
    }
}
