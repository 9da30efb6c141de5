import EventDecoding
import JourneyCore
import Testing

@Suite("Decoding: UTF-8 and JSON syntax")
struct JSONSyntaxTests {
    @Test("the minimal line decodes")
    func minimal() throws {
        let event = try #require(decode(minimalLine).event)
        #expect(event.customerID == "c1")
        #expect(event.name == "page_view")
        #expect(event.time == RFC3339.parse("2026-05-01T10:00:00Z"))
        #expect(event.touchpoint == "unknown")
    }

    @Test(
        "reason raw values are those of docs/events.md",
        arguments: zip(
            RejectionReason.allCases,
            [
                "invalid_utf8", "invalid_json", "not_an_object", "missing_field", "invalid_field", "ts_out_of_range",
                "line_too_long", "behind_retention",
            ]))
    func reasonNames(reason: RejectionReason, name: String) {
        #expect(reason.rawValue == name)
    }

    static let invalidUTF8Samples: [(String, [UInt8])] = [
        ("0xFF", [0xFF]),
        ("lone continuation byte", [0x80]),
        ("overlong NUL", [0xC0, 0x80]),
        ("overlong slash", [0xE0, 0x80, 0xAF]),
        ("UTF-16 surrogate", [0xED, 0xA0, 0x80]),
        ("beyond U+10FFFF", [0xF4, 0x90, 0x80, 0x80]),
        ("truncated sequence", [0xE2, 0x82]),
        ("lead byte then ASCII", [0xC3, 0x41]),
    ]

    @Test("invalid UTF-8 anywhere in the line is invalid_utf8, with its byte offset", arguments: invalidUTF8Samples)
    func invalidUTF8(name: String, bytes: [UInt8]) throws {
        let prefix = Array(#"{"customer_id":"c1","event":"page_view","ts":"2026-05-01T10:00:00Z","note":""#.utf8)
        let line = prefix + bytes + Array(#""}"#.utf8)
        let rejection = try #require(decodeBytes(line).rejection)
        #expect(rejection.reason == .invalidUTF8)
        #expect(rejection.detail == "line: invalid UTF-8 at byte \(prefix.count)")
    }

    @Test("invalid UTF-8 is reported even when the JSON is broken before it")
    func utf8BeforeJSON() {
        #expect(decodeBytes(Array("{\"a".utf8) + [0xFF]).rejection?.reason == .invalidUTF8)
        // And late in a long ASCII line (past the eight-byte fast path).
        let start: [UInt8] = Array(
            #"{"customer_id":"c1","event":"page_view","ts":"2026-05-01T10:00:00Z","note":""#.utf8)
        let long: [UInt8] = start + [UInt8](repeating: UInt8(ascii: "a"), count: 37) + [0xFE] + Array(#""}"#.utf8)
        #expect(decodeBytes(long).rejection?.reason == .invalidUTF8)
    }

    @Test("valid multi-byte UTF-8 passes through unchanged")
    func multiByte() throws {
        let event = try #require(decode(#"{"customer_id":"é€😀","event":"ü","ts":"2026-05-01T10:00:00Z"}"#).event)
        #expect(event.customerID == "é€😀")
        #expect(event.name == "ü")
    }

    static let invalidJSONSamples: [String] = [
        "{",
        #"{"customer_id":"c""#,
        #"{"a":1,}"#,
        #"{"a" 1}"#,
        #"{"a":1 "b":2}"#,
        "{'a':1}",
        "{a:1}",
        #"{"a":01}"#,
        #"{"a":1.}"#,
        #"{"a":.5}"#,
        #"{"a":-}"#,
        #"{"a":1e}"#,
        #"{"a":1e+}"#,
        #"{"a":+1}"#,
        #"{"a":0x10}"#,
        #"{"a":tru}"#,
        #"{"a":True}"#,
        #"{"a":nul}"#,
        #"{"a":NaN}"#,
        #"{"a":Infinity}"#,
        #"{"a":"x\q"}"#,
        #"{"a":"\u12"}"#,
        #"{"a":"\u12g4"}"#,
        "{\"a\":\"tab\there\"}",
        #"{"a":1} x"#,
        "{} {}",
        #"{"a":[1,2}"#,
        #"{"a":[1,]}"#,
        #"{"a":{"b":1}"#,
        #"{"a":"unterminated}"#,
        #"{"a":1}}"#,
        "\u{FEFF}" + minimalLine,
    ]

    @Test("broken JSON is invalid_json with a detail pointing at the byte", arguments: invalidJSONSamples)
    func invalidJSON(line: String) throws {
        let rejection = try #require(decode(line).rejection)
        #expect(rejection.reason == .invalidJSON)
        #expect(rejection.detail.hasPrefix("line: "))
        #expect(rejection.detail.contains(" at byte "))
    }

    @Test("raw control characters in a string are invalid_json; outside strings NUL is too")
    func rawControlCharacters() {
        #expect(decodeBytes(Array(#"{"a":""#.utf8) + [0x00] + Array(#""}"#.utf8)).rejection?.reason == .invalidJSON)
        #expect(decodeBytes(Array(#"{"a":""#.utf8) + [0x1F] + Array(#""}"#.utf8)).rejection?.reason == .invalidJSON)
        #expect(decodeBytes(Array(minimalLine.utf8) + [0x00]).rejection?.reason == .invalidJSON)
    }

    @Test("trailing garbage after the object is named in the detail")
    func trailingGarbage() throws {
        let rejection = try #require(decode(minimalLine + " ,").rejection)
        #expect(rejection.reason == .invalidJSON)
        #expect(
            rejection.detail
                == "line: unexpected ',' after the end of the JSON value at byte \(minimalLine.utf8.count + 1)")
    }

    @Test("surrogate pairs decode; lone surrogates are invalid_json")
    func surrogates() throws {
        let event = try #require(
            decode(#"{"customer_id":"\ud83d\ude00x","event":"e","ts":"2026-05-01T10:00:00Z"}"#).event)
        #expect(event.customerID == "😀x")
        let edges = try #require(
            decode(#"{"customer_id":"\ud800\udc00\udbff\udfff","event":"e","ts":"2026-05-01T10:00:00Z"}"#).event)
        #expect(edges.customerID == "\u{10000}\u{10FFFF}")
        for bad in [
            #""\ud800""#, #""\udbff""#, #""\udc00""#, #""\ude00""#, #""\udfff""#, #""x\udfffy""#, #""\ud800\u0041""#,
            #""\ud800x""#, #""\ude00\ud83d""#, #""\ud800\ud800""#,
        ] {
            let rejection = decode(lineWith(#""note":"# + bad)).rejection
            #expect(rejection?.reason == .invalidJSON, "\(bad)")
            #expect(rejection?.detail.contains("surrogate") == true, "\(bad)")
        }
    }

    @Test("all simple escapes decode")
    func simpleEscapes() throws {
        let event = try #require(
            decode(#"{"customer_id":"a\"b\\c\/d\be\ff\ng\rh\ti","event":"e","ts":"2026-05-01T10:00:00Z"}"#).event)
        #expect(event.customerID == "a\"b\\c/d\u{8}e\u{C}f\ng\rh\ti")
    }

    @Test("whitespace of every JSON kind is allowed between tokens")
    func whitespace() throws {
        let line = " \t{ \"customer_id\" :\t\"c1\" ,\r\"event\": \"e\",\"ts\"\t:\"2026-05-01T10:00:00Z\" } \t\r"
        #expect(try #require(decode(line).event).customerID == "c1")
    }

    @Test(
        "valid number forms anywhere are accepted",
        arguments: [
            "0", "-0", "0.0", "-0.0e+0", "1E-7", "12.5e3", "1e999999", "-123456789012345678901234567890.123456789",
        ])
    func validNumbers(number: String) {
        #expect(decode(lineWith(#""other":"# + number)).event != nil)
    }

    @Test(
        "an empty or whitespace-only line is blank, not an event and not a rejection",
        arguments: ["", " ", "\t \r", "\r\n"])
    func blankLines(line: String) {
        #expect(decode(line).isBlank)
    }

    @Test(
        "a valid JSON value that is not an object is not_an_object",
        arguments: [
            ("[1,2]", "an array"), (#""x""#, "a string"), ("42", "a number"), ("-1.5e3", "a number"), ("true", "true"),
            ("false", "false"), ("null", "null"), (" [ ] ", "an array"),
        ])
    func notAnObject(line: String, kind: String) throws {
        let rejection = try #require(decode(line).rejection)
        #expect(rejection.reason == .notAnObject)
        #expect(rejection.detail == "line: expected a JSON object, got \(kind)")
    }

    @Test("an invalid non-object is invalid_json, not not_an_object")
    func brokenNonObject() {
        #expect(decode("[1,").rejection?.reason == .invalidJSON)
        #expect(decode("[1] x").rejection?.reason == .invalidJSON)
        #expect(decode("tru").rejection?.reason == .invalidJSON)
    }

    /// `levels` containers in total, the top-level object counting as one.
    static func nested(levels: Int) -> String {
        lineWith(#""deep":"# + String(repeating: "[", count: levels - 1) + String(repeating: "]", count: levels - 1))
    }

    @Test("nesting up to 64 levels is accepted; 65 is invalid_json saying so")
    func nestingLimit() throws {
        #expect(decode(Self.nested(levels: 64)).event != nil)
        let rejection = try #require(decode(Self.nested(levels: 65)).rejection)
        #expect(rejection.reason == .invalidJSON)
        #expect(rejection.detail.contains("nesting deeper than 64 levels"))
        let objects = lineWith(
            #""deep":"# + String(repeating: #"{"k":"#, count: 64) + "1" + String(repeating: "}", count: 64))
        #expect(decode(objects).rejection?.reason == .invalidJSON)
        // A non-object top level counts its own level too.
        #expect(
            decode(String(repeating: "[", count: 64) + String(repeating: "]", count: 64)).rejection?.reason
                == .notAnObject)
        #expect(
            decode(String(repeating: "[", count: 65) + String(repeating: "]", count: 65)).rejection?.reason
                == .invalidJSON)
    }

    @Test("absurd nesting fails fast instead of exhausting the stack")
    func absurdNesting() {
        var settings = IngestSettings()
        settings.maxLineBytes = 1 << 22
        let line = lineWith(#""deep":"# + String(repeating: "[", count: 1_000_000))
        #expect(decode(line, settings: settings).rejection?.reason == .invalidJSON)
    }

    @Test("huge numbers outside the known fields do not matter")
    func hugeNumbers() {
        let digits = String(repeating: "9", count: 5000)
        #expect(decode(lineWith(#""n":"# + digits + "." + digits + "e-999999999999")).event != nil)
    }

    @Test("a line longer than max_line_bytes passed straight to the decoder is line_too_long")
    func decoderEnforcesMaxLineBytes() {
        var settings = IngestSettings()
        settings.maxLineBytes = 20
        #expect(decode(minimalLine, settings: settings).rejection?.reason == .lineTooLong)
    }

    @Test("decoding from bytes, a string, and a non-contiguous collection agree")
    func inputForms() {
        let bytes = Array(minimalLine.utf8)
        let fromBytes = decodeBytes(bytes)
        #expect(fromBytes == decode(minimalLine))
        #expect(EventDecoder().decode(minimalLine.utf8.lazy.map { $0 }, now: testNow) == fromBytes)
    }
}
