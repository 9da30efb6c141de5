import JourneyMap
import Testing

@Suite("How the map writes numbers")
struct MapFormatTests {
    @Test func countsAreGroupedByThousands() {
        #expect(MapFormat.count(0) == "0")
        #expect(MapFormat.count(999) == "999")
        #expect(MapFormat.count(1000) == "1,000")
        #expect(MapFormat.count(1_234_567) == "1,234,567")
        #expect(MapFormat.count(-12_345) == "-12,345")
    }

    @Test func sharesArePercentagesWithOneDecimalRoundedHalfAway() {
        #expect(MapFormat.percent(0.4525) == "45.3 %")
        #expect(MapFormat.percent(1) == "100.0 %")
        #expect(MapFormat.percent(0) == "0.0 %")
        #expect(MapFormat.percent(nil) == "–")
        #expect(MapFormat.percent(.nan) == "–")
    }

    @Test func durationsTakeTheirLargestSensibleUnit() {
        #expect(MapFormat.duration(42) == "42 s")
        #expect(MapFormat.duration(750) == "12.5 min")
        #expect(MapFormat.duration(3 * 3600 + 720) == "3.2 h")
        #expect(MapFormat.duration(2 * 86_400) == "2.0 d")
        #expect(MapFormat.duration(-1800) == "-30.0 min")
        #expect(MapFormat.duration(nil) == "–")
    }

    @Test func sentimentsCarryTheirSign() {
        #expect(MapFormat.sentiment(0.421) == "+0.42")
        #expect(MapFormat.sentiment(-0.1) == "-0.10")
        #expect(MapFormat.sentiment(0) == "+0.00")
        #expect(MapFormat.sentiment(-0.001) == "+0.00")
    }

    /// Money is rounded from the decimal text digit by digit: no binary fraction enters.
    @Test(arguments: [
        ("1234.565", "1,234.57"), ("0.005", "0.01"), ("0.004", "0.00"), ("999.995", "1,000.00"),
        ("12.5", "12.50"), ("375.000000", "375.00"), ("-0.004", "0.00"), ("-2.345", "-2.35"), ("7", "7.00"),
        ("99999999999.999", "100,000,000,000.00"),
    ])
    func moneyIsRoundedFromItsDecimalText(text: String, expected: String) {
        #expect(MapFormat.money(text) == expected)
    }
}
