import Foundation
import JourneyMap
import Testing

#if canImport(FoundationXML)
    import FoundationXML
#endif

/// The document itself: well-formed, self-contained, escaped, every number as text.
@Suite("The journey map document")
struct RendererTests {
    /// A map with every lane filled, names chosen to break markup.
    static func sample(journey: String = "purchase", stage: (Int) -> String = { "stage \($0)" }) -> JourneyMapDocument {
        let stages = (0..<4).map { index in Self.stage(index, name: stage(index)) }
        let trigger = JourneyMapDocument.Trigger(
            event: "email_open <i>", touchpoint: "email", returns: 700, share: 700.0 / 1_200)
        let loop = JourneyMapDocument.Loop(
            converted: 2_500, returned: 1_200, pending: 300, didNotReturn: 1_000, returnRate: 1_200.0 / 2_200,
            medianTimeToReturn: 259_200, p90TimeToReturn: 1_728_000, repeatWindow: 7_776_000, triggers: [trigger])
        return JourneyMapDocument(
            journey: journey, watermark: "2026-04-02T07:30:19Z", generatedAt: "2026-12-07T08:00:00Z", stages: stages,
            opportunities: [.init(rank: 1, stage: stage(1), missingToTarget: 26, revenue: "243.750000")],
            loop: loop)
    }

    private static func stage(_ index: Int, name: String) -> JourneyMapDocument.Stage {
        let divisor = Int64(index + 1)
        let goesOn = index < 3
        var stage = JourneyMapDocument.Stage(name: name, reached: 10_000 / divisor, customers: 9_000 / divisor)
        stage.stepConversion = goesOn ? 0.5 - Double(index) * 0.1 : nil
        stage.overallConversion = 1 / Double(divisor)
        stage.targetStepConversion = index == 1 ? "0.45" : nil
        stage.dropOff = goesOn ? 5_000 / divisor : nil
        stage.abandoned = 100 * Int64(index)
        stage.expired = 7 * Int64(index)
        stage.active = 12
        stage.medianTimeToNext = goesOn ? 3600 * Double(divisor) : nil
        stage.p90TimeToNext = goesOn ? 7200 * Double(divisor) : nil
        stage.targetMedianTimeToNext = index == 1 ? 7200 : nil
        stage.averageSentiment = Double(index) / 10 - 0.1
        stage.revenue = index == 3 ? "1234.565" : "0"
        stage.moments = 40 * Int64(index)
        stage.recovered = 10 * Int64(index)
        stage.painPoints = 3 * Int64(index)
        stage.exits = [.init(event: "email_open <b>", touchpoint: "support & co", abandonments: 78, share: 0.035)]
        stage.touchpoints = [
            .init(name: "web", customers: 1_519, events: 3_000), .init(name: "store", customers: 12, events: 12),
        ]
        return stage
    }

    @Test func theDocumentIsWellFormedAndEveryChartHasATitleAndADescription() throws {
        let html = JourneyMapRenderer.render(Self.sample())
        let document = try XMLDocument(data: Data(html.utf8))
        let svgs = try document.nodes(forXPath: "//svg")
        #expect(svgs.count >= 4 + 4 + 4 + 1)
        for svg in svgs {
            let element = try #require(svg as? XMLElement)
            let title = element.elements(forName: "title").first?.stringValue ?? ""
            let description = element.elements(forName: "desc").first?.stringValue ?? ""
            #expect(title.count > 3 && description.count > 3)
            #expect(element.attribute(forName: "role")?.stringValue == "img")
        }
    }

    @Test func hostileNamesAreTextNotMarkup() throws {
        let hostile = "<script>alert('x')</script>\"&"
        let html = JourneyMapRenderer.render(Self.sample(journey: hostile, stage: { "\(hostile)\($0)" }))
        #expect(!html.contains("<script"))
        let document = try XMLDocument(data: Data(html.utf8))
        let title = try document.nodes(forXPath: "/html/head/title").first?.stringValue
        #expect(title == "Journey map: \(hostile) (all customers)")
        let stageTitles = try document.nodes(forXPath: "//section[@aria-label='stages']//title").map(\.stringValue)
        #expect(stageTitles == (0..<4).map { "Stage \($0 + 1): \(hostile)\($0)" })
    }

    /// Nothing in the document asks for anything outside it.
    @Test func nothingIsLoadedFromOutside() {
        let html = JourneyMapRenderer.render(Self.sample())
        for pattern in ["http:", "https:", "//", "src=", "href=", "url(", "@import", "<script", "<link", "<img"] {
            #expect(!html.contains(pattern), "the document contains \(pattern)")
        }
        #expect(html.contains("default-src &#39;none&#39;"))
        #expect(html.contains("@media print"))
        #expect(html.contains("size: landscape"))
    }

    /// Each lane's numbers, per stage in order, are the document's values as MapFormat writes them.
    @Test func everyNumberIsWrittenAsText() throws {
        let map = Self.sample()
        let lanes = try MapReading.lanes(of: JourneyMapRenderer.render(map))
        #expect(lanes["reach"]?.count == 4)
        for (index, stage) in map.stages.enumerated() {
            #expect(lanes["reach"]?[index]["reached"] == MapFormat.count(stage.reached))
            #expect(lanes["reach"]?[index]["to next stage"] == MapFormat.percent(stage.stepConversion))
            #expect(lanes["reach"]?[index]["target"] == (index == 1 ? "45.0 %" : "–"))
            #expect(lanes["dropoff"]?[index]["abandoned"] == MapFormat.count(stage.abandoned))
            #expect(lanes["time"]?[index]["median"] == MapFormat.duration(stage.medianTimeToNext))
            #expect(lanes["emotion"]?[index]["average sentiment"] == MapFormat.sentiment(stage.averageSentiment))
            #expect(lanes["moments"]?[index]["flagged"] == MapFormat.count(stage.moments))
            #expect(lanes["moments"]?[index]["revenue"] == MapFormat.money(stage.revenue))
        }
        #expect(lanes["moments"]?[3]["revenue"] == "1,234.57")
        let html = JourneyMapRenderer.render(map)
        #expect(html.contains("email_open &lt;b&gt; @ support &amp; co: 78 (3.5 %)"))
        #expect(html.contains("<td>26</td><td>243.75</td>"))
        // The loop from the last stage back to the first.
        let loop = try #require(lanes["loop"]?.first)
        #expect(loop["converted"] == "2,500" && loop["returned"] == "1,200" && loop["pending (window open)"] == "300")
        #expect(loop["did not return"] == "1,000" && loop["return rate"] == "54.5 %")
        #expect(loop["median / p90 to return"] == "3.0 d / 20.0 d")
        #expect(html.contains(">54.5 % return within 90.0 d · median 3.0 d after converting</text>"))
        #expect(html.contains("email_open &lt;i&gt; @ email: 700 (58.3 %)"))
    }

    @Test func aJourneyNobodyConvertedInHasNoLoop() throws {
        var map = Self.sample()
        map.loop?.converted = 0
        #expect(try MapReading.lanes(of: JourneyMapRenderer.render(map))["loop"] == nil)
        map.loop = nil
        #expect(try MapReading.lanes(of: JourneyMapRenderer.render(map))["loop"] == nil)
    }
}

/// Reads the numbers back out of a map document: per lane (`h2` id), per stage cell, the
/// label → value pairs of its definition list.
enum MapReading {
    static func lanes(of html: String) throws -> [String: [[String: String]]] {
        let document = try XMLDocument(data: Data(html.utf8))
        var lanes: [String: [[String: String]]] = [:]
        for section in try document.nodes(forXPath: "//section[h2/@id]") {
            guard let element = section as? XMLElement,
                let id = element.elements(forName: "h2").first?.attribute(forName: "id")?.stringValue
            else { continue }
            var cells: [[String: String]] = []
            for cell in element.elements(forName: "div") {
                guard let list = cell.elements(forName: "dl").first else { continue }
                let labels = list.elements(forName: "dt").map { $0.stringValue ?? "" }
                let values = list.elements(forName: "dd").map { $0.stringValue ?? "" }
                cells.append(Dictionary(zip(labels, values), uniquingKeysWith: { first, _ in first }))
            }
            lanes[id] = cells
        }
        return lanes
    }
}
