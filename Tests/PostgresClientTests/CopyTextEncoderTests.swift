import Testing

@testable import PostgresClient

/// Expected bytes follow the COPY text format in the PostgreSQL manual ("COPY", File Formats).
@Suite("COPY text encoding")
struct CopyTextEncoderTests {
    private func encoded(_ write: (inout CopyTextEncoder) -> Void) -> String {
        var encoder = CopyTextEncoder()
        write(&encoder)
        return String(decoding: encoder.bytes, as: UTF8.self)
    }

    @Test("fields are tab-separated, rows end with a newline, NULL is \\N")
    func layout() {
        let text = encoded {
            $0.appendInteger(1)
            $0.appendText("a")
            $0.appendNull()
            $0.endRow()
            $0.appendText(nil as String?)
            $0.endRow()
        }
        #expect(text == "1\ta\t\\N\n\\N\n")
    }

    @Test("backslash, tab, newline and carriage return are escaped; other text is copied as is")
    func escaping() {
        let text = encoded {
            $0.appendText("a\\b\tc\nd\re 😀 \\N")
            $0.appendText(Substring("x\ty"))
            $0.endRow()
        }
        #expect(text == "a\\\\b\\tc\\nd\\re 😀 \\\\N\tx\\ty\n")
    }

    @Test("raw UTF-8 input is escaped the same way as strings")
    func rawBytes() {
        let input = Array("tab\there\\".utf8)
        let text = encoded { encoder in input.withUnsafeBytes { encoder.appendText(utf8: $0) } }
        #expect(text == "tab\\there\\\\")
    }

    @Test("bytea is hex with an escaped backslash")
    func bytea() {
        #expect(encoded { $0.appendBytea([0x00, 0x5C, 0xFF]) } == "\\\\x005cff")
        #expect(encoded { $0.appendBytea([]) } == "\\\\x")
    }

    @Test("integers of every width, including the extremes")
    func integers() {
        #expect(encoded { $0.appendInteger(Int64.min) } == "-9223372036854775808")
        #expect(encoded { $0.appendInteger(UInt64.max) } == "18446744073709551615")
        #expect(encoded { $0.appendInteger(Int8(-7)) } == "-7")
        #expect(encoded { $0.appendInteger(0) } == "0")
        #expect(encoded { $0.appendInteger(nil as Int?) } == "\\N")
    }

    @Test("doubles use PostgreSQL's spelling of the special values")
    func doubles() {
        #expect(encoded { $0.appendDouble(Double.nan) } == "NaN")
        #expect(encoded { $0.appendDouble(-Double.infinity) } == "-Infinity")
        #expect(Double(encoded { $0.appendDouble(0.1) }) == 0.1)
        #expect(
            encoded {
                $0.appendBool(true)
                $0.appendBool(false)
            } == "t\tf")
    }

    @Test("timestamps are ISO text in UTC, with BC years and infinities")
    func timestamps() {
        #expect(encoded { $0.appendTimestamp(microsecondsSinceEpoch: 0) } == "1970-01-01 00:00:00+00")
        #expect(encoded { $0.appendTimestamp(microsecondsSinceEpoch: -1) } == "1969-12-31 23:59:59.999999+00")
        #expect(
            encoded { $0.appendTimestamp(microsecondsSinceEpoch: 951_825_600_000_001) }
                == "2000-02-29 12:00:00.000001+00")
        #expect(
            encoded { $0.appendTimestamp(microsecondsSinceEpoch: -62_135_683_200_000_000) }
                == "0001-12-31 00:00:00+00 BC")
        #expect(encoded { $0.appendTimestamp(microsecondsSinceEpoch: Int64.max) } == "infinity")
    }

    @Test(
        "timestamp text parses back to the same microseconds",
        arguments: [
            Int64(0), -1, 1, 951_825_600_000_001, -62_135_683_200_000_000, -62_198_755_200_000_000,
            253_402_300_799_999_999, 9_000_000_000_000_000_000,
        ])
    func timestampTextRoundTrip(micros: Int64) {
        let text = encoded { $0.appendTimestamp(microsecondsSinceEpoch: micros) }
        let parsed = Array(text.utf8).withUnsafeBufferPointer { TextFormatParsing.timestampMicroseconds($0) }
        #expect(parsed == micros)
    }

    @Test("time zone offsets are applied when parsing")
    func offsets() {
        func parse(_ text: String) -> Int64? {
            Array(text.utf8).withUnsafeBufferPointer { TextFormatParsing.timestampMicroseconds($0) }
        }
        #expect(parse("1970-01-01 01:00:00+01") == 0)
        #expect(parse("1969-12-31 19:00:00-05") == 0)
        #expect(parse("1970-01-01 05:30:00+05:30") == 0)
        #expect(parse("1970-01-01T00:00:00Z") == 0)
        #expect(parse("1970-01-01") == 0)
        #expect(parse("1970-13-01") == nil)
        #expect(parse("yesterday") == nil)
        #expect(parse("1970-01-01 00:00:00+00 junk") == nil)
    }

    @Test("removeAll empties the buffer for the next batch")
    func reuse() {
        var encoder = CopyTextEncoder(reservingCapacity: 64)
        encoder.appendText("x")
        encoder.removeAll()
        encoder.appendText("y")
        encoder.endRow()
        #expect(encoder.bytes == Array("y\n".utf8))
    }
}
