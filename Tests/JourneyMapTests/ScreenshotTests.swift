import Foundation
import JourneyMap
import Testing

/// The map as a browser draws it: headless Chromium (Debian's `chromium`, installed by the
/// test script) takes a 1280×800 screenshot, and the regions where the header, the stage
/// chevrons, the reach bars and the emotion curve belong hold their ink and colours.
@Suite(
    .enabled(
        if: FileManager.default.isExecutableFile(atPath: "/usr/bin/chromium")
            || ProcessInfo.processInfo.environment["CJM_REQUIRE_CHROMIUM"] == "1",
        "needs chromium (apt-get install chromium)"))
struct ScreenshotTests {
    static let chromium = "/usr/bin/chromium"
    static let regions = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("png_regions.py").path

    /// `@media print` fits the map on one landscape page.
    @Test func itPrintsOnOneLandscapePage() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("cjmd-map-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let page = directory.appendingPathComponent("map.html")
        let pdf = directory.appendingPathComponent("map.pdf")
        try Data(JourneyMapRenderer.render(RendererTests.sample()).utf8).write(to: page)
        let browser = Process()
        browser.executableURL = URL(fileURLWithPath: Self.chromium)
        browser.arguments = [
            "--headless", "--no-sandbox", "--disable-gpu", "--no-pdf-header-footer",
            "--user-data-dir=\(directory.appendingPathComponent("profile").path)", "--print-to-pdf=\(pdf.path)",
            page.absoluteString,
        ]
        browser.standardOutput = FileHandle.nullDevice
        browser.standardError = FileHandle.nullDevice
        try browser.run()
        browser.waitUntilExit()
        let bytes = try Data(contentsOf: pdf)
        let text = String(decoding: bytes, as: UTF8.self)
        // Page objects are `/Type /Page` (the tree's root is `/Type /Pages`).
        let pages =
            text.components(separatedBy: "/Type /Page").count - 1
            - (text.components(separatedBy: "/Type /Pages").count - 1)
        #expect(pages == 1, "the map prints on \(pages) pages")
        // Landscape: the media box is wider than high.
        let box = try #require(text.range(of: "/MediaBox ["))
        let numbers = text[box.upperBound...].prefix(60).split(whereSeparator: { " []".contains($0) }).prefix(4)
            .compactMap { Double($0) }
        #expect(numbers.count == 4 && numbers[2] > numbers[3], "media box \(numbers)")
    }

    @Test func chromiumDrawsEveryLaneAt1280By800() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("cjmd-map-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let page = directory.appendingPathComponent("map.html")
        let shot = directory.appendingPathComponent("map.png")
        try Data(JourneyMapRenderer.render(RendererTests.sample()).utf8).write(to: page)

        let browser = Process()
        browser.executableURL = URL(fileURLWithPath: Self.chromium)
        browser.arguments = [
            "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--window-size=1280,800",
            "--user-data-dir=\(directory.appendingPathComponent("profile").path)", "--screenshot=\(shot.path)",
            page.absoluteString,
        ]
        browser.standardOutput = FileHandle.nullDevice
        browser.standardError = FileHandle.nullDevice
        try browser.run()
        browser.waitUntilExit()
        #expect(browser.terminationStatus == 0)
        #expect(FileManager.default.fileExists(atPath: shot.path), "chromium wrote no screenshot")

        let reader = Process()
        reader.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        reader.arguments = [
            Self.regions, shot.path, "--colour", "blue=0072B2", "--colour", "green=009E73", "--colour",
            "pink=CC79A7", "0,0,1280,60", "0,60,1280,130", "0,130,1280,200", "0,560,1280,800", "0,0,1280,800",
        ]
        let output = Pipe()
        reader.standardOutput = output
        try reader.run()
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        reader.waitUntilExit()
        #expect(reader.terminationStatus == 0)
        var measured: [String: (ink: Double, colours: [String: Int])] = [:]
        for line in text.split(separator: "\n") {
            let fields = line.split(separator: "\t").map(String.init)
            if fields.first == "size" {
                #expect(fields == ["size", "1280", "800"])
                continue
            }
            guard fields.count == 5, let ink = Double(fields[1]) else { continue }
            var colours: [String: Int] = [:]
            for pair in fields[2...] {
                let parts = pair.split(separator: "=")
                colours[String(parts[0])] = Int(parts[1])
            }
            measured[fields[0]] = (ink, colours)
        }
        let header = try #require(measured["0,0,1280,60"])
        let stages = try #require(measured["0,60,1280,130"])
        let reach = try #require(measured["0,130,1280,200"])
        let lower = try #require(measured["0,560,1280,800"])
        let wholePage = try #require(measured["0,0,1280,800"])
        #expect(header.ink > 0.02, "the title and period line are drawn")
        #expect((stages.colours["blue"] ?? 0) > 10_000, "four stage chevrons in blue")
        #expect(
            (reach.colours["blue"] ?? 0) > 1_000 && (reach.colours["green"] ?? 0) > 1_000, "reach and conversion bars")
        #expect(lower.ink > 0.02, "lanes further down are drawn")
        #expect(wholePage.ink < 0.6, "not a blank or solid page")
        #expect(wholePage.ink > 0.05)
        #expect((wholePage.colours["pink"] ?? 0) > 100, "the emotion curve")
    }
}
