/// Draws a ``JourneyMapDocument`` as one self-contained HTML document: inline CSS and SVG,
/// no script, no font, no image and no link to load, so that it opens offline, mails as a
/// file and passes a Content-Security-Policy of `default-src 'none'`.
///
/// Stages are columns, left to right; under them one lane per question a journey map
/// answers: how many arrive and go on (with the target where one is set), where and how
/// they leave, how long they take, where they meet the business, how they feel, the
/// critical moments, and the opportunities. Every number is printed as text (charts only
/// repeat it as a shape), every chart has a `<title>` and a `<desc>`, and the colours are
/// Okabe and Ito's, told apart with every common colour-vision deficiency.
///
/// The markup is well-formed XML (void elements closed, only XML's five entities), which
/// is how the tests check it, and no more than HTML5 needs.
///
/// Hand-written, not a template engine: the document is a few hundred lines of markup
/// whose every value goes through ``escape(_:)``; no template package in the mirror would
/// make that shorter or safer.
public enum JourneyMapRenderer {
    /// Okabe–Ito colours by role.
    enum Palette {
        static let reach = "#0072B2"
        static let target = "#D55E00"
        static let lost = "#E69F00"
        static let time = "#009E73"
        static let emotion = "#CC79A7"
        static let ink = "#1a1a1a"
        static let muted = "#5f6368"
        static let grid = "#d0d4d9"
    }

    /// The Content-Security-Policy the document declares (and the live page sends): nothing
    /// may be loaded from anywhere; only the inline styles apply.
    public static let contentSecurityPolicy =
        "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'"

    /// The document for `map`. `refreshSeconds` adds a refresh (the live page); `links`
    /// names other maps to offer (journey or persona, with their relative addresses).
    /// `personas`: the same journey drawn for each persona, as sections of this document
    /// after `map`'s, which a chooser at the top links to by anchor (no script needed).
    public static func render(
        _ map: JourneyMapDocument, refreshSeconds: Int? = nil, links: [(label: String, href: String)] = [],
        personas: [JourneyMapDocument] = []
    ) -> String {
        var html = HTMLBuilder()
        let who = map.persona.map { "persona \($0)" } ?? "all customers"
        html.raw("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\"/>\n")
        html.raw("<meta http-equiv=\"Content-Security-Policy\" content=\"\(escape(contentSecurityPolicy))\"/>\n")
        if let refreshSeconds { html.raw("<meta http-equiv=\"refresh\" content=\"\(refreshSeconds)\"/>\n") }
        html.raw("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"/>\n")
        html.element("title", "Journey map: \(map.journey) (\(who))")
        html.raw("\n<style>\n\(stylesheet(stageCount: map.stages.count))</style>\n</head>\n<body>\n")
        var chooser: [(label: String, href: String)] = []
        if !personas.isEmpty {
            chooser = [(label: who, href: "#all")]
            for (index, persona) in personas.enumerated() {
                chooser.append((label: "persona \(persona.persona ?? "")", href: "#persona-\(index + 1)"))
            }
            html.raw("<div class=\"map\" id=\"all\">\n")
        }
        body(&html, map, who: who, links: links, chooser: chooser)
        for (index, persona) in personas.enumerated() {
            html.raw("</div>\n<div class=\"map persona\" id=\"persona-\(index + 1)\">\n")
            // Each section's ids are its own: the lanes' ids get the section's prefix.
            var section = HTMLBuilder()
            body(&section, persona, who: "persona \(persona.persona ?? "")", links: [], chooser: chooser)
            html.raw(
                section.markup.replacing(" id=\"", with: " id=\"p\(index + 1)-")
                    .replacing(" aria-labelledby=\"", with: " aria-labelledby=\"p\(index + 1)-"))
        }
        if !personas.isEmpty { html.raw("</div>\n") }
        html.raw("</body>\n</html>\n")
        return html.markup
    }

    /// One map: its header and lanes.
    private static func body(
        _ html: inout HTMLBuilder, _ map: JourneyMapDocument, who: String, links: [(label: String, href: String)],
        chooser: [(label: String, href: String)]
    ) {
        header(&html, map, who: who, links: links, chooser: chooser)
        stageHeader(&html, map)
        loopLane(&html, map)
        reachLane(&html, map)
        dropOffLane(&html, map)
        timeLane(&html, map)
        touchpointLane(&html, map)
        emotionLane(&html, map)
        momentLane(&html, map)
        opportunityLane(&html, map)
    }

    // MARK: Parts

    private static func header(
        _ html: inout HTMLBuilder, _ map: JourneyMapDocument, who: String, links: [(label: String, href: String)],
        chooser: [(label: String, href: String)]
    ) {
        html.raw("<header>\n")
        html.element("h1", "Journey map: \(map.journey)")
        let period: String
        switch map.period {
        case .allTime: period = "every instance so far"
        case .entered(let from, let to): period = "instances that entered from \(from) to \(to)"
        }
        html.raw("<p class=\"meta\">")
        html.text("Customers: \(who) · Period: \(period) · Complete up to: \(map.watermark ?? "no events yet")")
        html.text(" · Drawn at \(map.generatedAt)")
        html.raw("</p>\n")
        if !links.isEmpty {
            html.raw("<nav><ul>")
            for link in links {
                html.raw("<li><a href=\"\(escape(link.href))\">")
                html.text(link.label)
                html.raw("</a></li>")
            }
            html.raw("</ul></nav>\n")
        }
        if !chooser.isEmpty {
            html.raw("<nav class=\"personas\" aria-label=\"personas\"><ul><li>Customers:</li>")
            for link in chooser {
                html.raw("<li><a href=\"\(escape(link.href))\">")
                html.text(link.label)
                html.raw("</a></li>")
            }
            html.raw("</ul></nav>\n")
        }
        html.raw("</header>\n")
    }

    private static func stageHeader(_ html: inout HTMLBuilder, _ map: JourneyMapDocument) {
        html.raw("<section class=\"lane stages\" aria-label=\"stages\">\n<h2>Stages</h2>\n")
        for (index, stage) in map.stages.enumerated() {
            let isLast = index == map.stages.count - 1
            html.raw("<div class=\"cell stage\">")
            html.raw(
                "<svg viewBox=\"0 0 200 40\" role=\"img\" aria-labelledby=\"st\(index)\">")
            html.raw("<title id=\"st\(index)\">")
            html.text("Stage \(index + 1): \(stage.name)")
            html.raw("</title><desc>")
            html.text(
                isLast ? "The last stage: reaching it converts the instance." : "Customers go on to the next stage.")
            html.raw("</desc>")
            let points = isLast ? "0,0 190,0 200,20 190,40 0,40 10,20" : "0,0 185,0 200,20 185,40 0,40 10,20"
            html.raw("<polygon points=\"\(points)\" fill=\"\(Palette.reach)\"/>")
            html.raw(
                "<text x=\"100\" y=\"25\" text-anchor=\"middle\" fill=\"#ffffff\" font-size=\"14\" font-weight=\"bold\">"
            )
            html.text(stage.name)
            html.raw("</text></svg></div>\n")
        }
        html.raw("</section>\n")
    }

    /// The loop from the last stage back to the first: an arrow under the stages carrying the
    /// return rate, and the numbers beside it.
    private static func loopLane(_ html: inout HTMLBuilder, _ map: JourneyMapDocument) {
        guard let loop = map.loop, loop.converted > 0, let last = map.stages.last, let first = map.stages.first else {
            return
        }
        lane(&html, "Repeat loop", id: "loop")
        html.raw("<div class=\"cell wide loop\">")
        html.raw("<svg viewBox=\"0 0 1000 26\" role=\"img\" aria-labelledby=\"lt\">")
        html.raw("<title id=\"lt\">")
        html.text("From \(last.name) back to \(first.name)")
        html.raw("</title><desc>")
        html.text(
            "Of \(MapFormat.count(loop.converted - loop.pending)) conversions whose repeat window is over, "
                + "\(MapFormat.percent(loop.returnRate)) came back within \(MapFormat.duration(loop.repeatWindow)) "
                + "(\(MapFormat.count(loop.pending)) still within it)")
        html.raw("</desc>")
        html.raw(
            "<path d=\"M 990 0 L 990 22 L 10 22 L 10 8\" fill=\"none\" stroke=\"\(Palette.time)\" stroke-width=\"3\"/>"
        )
        html.raw("<polygon points=\"3,9 10,0 17,9\" fill=\"\(Palette.time)\"/>")
        html.raw(
            "<text x=\"500\" y=\"17\" text-anchor=\"middle\" font-size=\"13\" fill=\"\(Palette.ink)\">")
        html.text(
            "\(MapFormat.percent(loop.returnRate)) return within \(MapFormat.duration(loop.repeatWindow))"
                + " · median \(MapFormat.duration(loop.medianTimeToReturn)) after converting")
        html.raw("</text></svg>")
        numbers(
            &html,
            [
                ("converted", MapFormat.count(loop.converted)),
                ("returned", MapFormat.count(loop.returned)),
                ("did not return", MapFormat.count(loop.didNotReturn)),
                ("pending (window open)", MapFormat.count(loop.pending)),
                ("return rate", MapFormat.percent(loop.returnRate)),
                (
                    "median / p90 to return",
                    "\(MapFormat.duration(loop.medianTimeToReturn)) / \(MapFormat.duration(loop.p90TimeToReturn))"
                ),
            ])
        if !loop.triggers.isEmpty {
            // cjm.repeat_triggers counts every customer's returns, whoever the map is for.
            html.raw("<p class=\"sub\">")
            html.text(map.persona == nil ? "Brought back by: " : "Brought back (every customer) by: ")
            html.text(
                loop.triggers.map {
                    "\($0.event) @ \($0.touchpoint): \(MapFormat.count($0.returns)) (\(MapFormat.percent($0.share)))"
                }.joined(separator: " · "))
            html.raw("</p>")
        }
        html.raw("</div>\n</section>\n")
    }

    private static func reachLane(_ html: inout HTMLBuilder, _ map: JourneyMapDocument) {
        lane(&html, "Reach and conversion", id: "reach")
        let most = max(map.stages.map(\.reached).max() ?? 0, 1)
        for (index, stage) in map.stages.enumerated() {
            html.raw("<div class=\"cell\">")
            let width = Double(stage.reached) / Double(most) * 200
            html.raw(
                "<svg viewBox=\"0 0 200 44\" role=\"img\" aria-labelledby=\"rt\(index)\">")
            html.raw("<title id=\"rt\(index)\">")
            html.text("Reach of \(stage.name) and conversion to the next stage")
            html.raw("</title><desc>")
            var description =
                "\(MapFormat.count(stage.reached)) instances reached \(stage.name) (upper bar, against the "
                + "stage most reached); \(MapFormat.percent(stage.stepConversion)) of them reached the next stage (lower bar)"
            if let target = stage.targetStepConversion {
                description += "; the target is \(MapFormat.percent(Double(target))) (dashed mark)"
            }
            html.text(description)
            html.raw("</desc>")
            html.raw("<rect x=\"0\" y=\"2\" width=\"200\" height=\"16\" fill=\"\(Palette.grid)\"/>")
            html.raw(
                "<rect x=\"0\" y=\"2\" width=\"\(MapFormat.fixed(width, decimals: 1))\" height=\"16\" fill=\"\(Palette.reach)\"/>"
            )
            if index < map.stages.count - 1 {
                let conversion = min(max(stage.stepConversion ?? 0, 0), 1) * 200
                html.raw("<rect x=\"0\" y=\"24\" width=\"200\" height=\"12\" fill=\"\(Palette.grid)\"/>")
                html.raw(
                    "<rect x=\"0\" y=\"24\" width=\"\(MapFormat.fixed(conversion, decimals: 1))\" height=\"12\" fill=\"\(Palette.time)\"/>"
                )
            }
            if let target = stage.targetStepConversion.flatMap(Double.init) {
                let x = MapFormat.fixed(min(max(target, 0), 1) * 200, decimals: 1)
                html.raw(
                    "<line x1=\"\(x)\" y1=\"21\" x2=\"\(x)\" y2=\"40\" stroke=\"\(Palette.target)\" stroke-width=\"3\" stroke-dasharray=\"4 2\"/>"
                )
            }
            html.raw("</svg>")
            numbers(
                &html,
                [
                    ("reached", MapFormat.count(stage.reached)),
                    ("customers", MapFormat.count(stage.customers)),
                    ("to next stage", MapFormat.percent(stage.stepConversion)),
                    ("target", stage.targetStepConversion.map { MapFormat.percent(Double($0)) } ?? "–"),
                    ("of entries", MapFormat.percent(stage.overallConversion)),
                ])
            html.raw("</div>\n")
        }
        html.raw("</section>\n")
    }

    private static func dropOffLane(_ html: inout HTMLBuilder, _ map: JourneyMapDocument) {
        lane(&html, "Drop-off", id: "dropoff")
        for stage in map.stages {
            html.raw("<div class=\"cell\">")
            numbers(
                &html,
                [
                    ("lost here", stage.dropOff.map(MapFormat.count) ?? "–"),
                    ("abandoned", MapFormat.count(stage.abandoned)),
                    ("expired", MapFormat.count(stage.expired)),
                    ("still active", MapFormat.count(stage.active)),
                ])
            if !stage.exits.isEmpty {
                html.raw("<p class=\"sub\">Last steps before silence</p><ol class=\"list\">")
                for exit in stage.exits {
                    html.raw("<li>")
                    html.text(
                        "\(exit.event) @ \(exit.touchpoint): \(MapFormat.count(exit.abandonments)) (\(MapFormat.percent(exit.share)))"
                    )
                    html.raw("</li>")
                }
                html.raw("</ol>")
            }
            html.raw("</div>\n")
        }
        html.raw("</section>\n")
    }

    private static func timeLane(_ html: inout HTMLBuilder, _ map: JourneyMapDocument) {
        lane(&html, "Time to the next stage", id: "time")
        for stage in map.stages {
            html.raw("<div class=\"cell\">")
            numbers(
                &html,
                [
                    ("median", MapFormat.duration(stage.medianTimeToNext)),
                    ("90th percentile", MapFormat.duration(stage.p90TimeToNext)),
                    ("target median", MapFormat.duration(stage.targetMedianTimeToNext)),
                ])
            html.raw("</div>\n")
        }
        html.raw("</section>\n")
    }

    private static func touchpointLane(_ html: inout HTMLBuilder, _ map: JourneyMapDocument) {
        lane(&html, "Touchpoints (customers)", id: "touchpoints")
        for (index, stage) in map.stages.enumerated() {
            html.raw("<div class=\"cell\">")
            if stage.touchpoints.isEmpty {
                html.raw("<p class=\"none\">–</p>")
            } else {
                let most = max(stage.touchpoints.map(\.customers).max() ?? 0, 1)
                let height = 18 * stage.touchpoints.count
                html.raw(
                    "<svg viewBox=\"0 0 200 \(height)\" role=\"img\" aria-labelledby=\"tp\(index)\">"
                )
                html.raw("<title id=\"tp\(index)\">")
                html.text("Touchpoints at \(stage.name)")
                html.raw("</title><desc>")
                html.text(
                    stage.touchpoints.map { "\($0.name): \(MapFormat.count($0.customers)) customers" }.joined(
                        separator: "; "))
                html.raw("</desc>")
                for (row, touchpoint) in stage.touchpoints.enumerated() {
                    let width = Double(touchpoint.customers) / Double(most) * 90
                    let y = row * 18
                    html.raw(
                        "<rect x=\"110\" y=\"\(y + 3)\" width=\"\(MapFormat.fixed(width, decimals: 1))\" height=\"12\" fill=\"\(Palette.time)\"/>"
                    )
                    html.raw("<text x=\"0\" y=\"\(y + 13)\" font-size=\"11\" fill=\"\(Palette.ink)\">")
                    html.text("\(touchpoint.name) \(MapFormat.count(touchpoint.customers))")
                    html.raw("</text>")
                }
                html.raw("</svg>")
            }
            html.raw("</div>\n")
        }
        html.raw("</section>\n")
    }

    private static func emotionLane(_ html: inout HTMLBuilder, _ map: JourneyMapDocument) {
        lane(&html, "Emotion", id: "emotion")
        let count = max(map.stages.count, 1)
        html.raw("<div class=\"cell wide\">")
        html.raw(
            "<svg viewBox=\"0 0 \(count * 200) 90\" role=\"img\" aria-labelledby=\"em\">")
        html.raw("<title id=\"em\">Average sentiment across the stages</title><desc>")
        html.text(
            map.stages.map { "\($0.name): \(MapFormat.sentiment($0.averageSentiment))" }.joined(separator: "; "))
        html.raw("</desc>")
        html.raw(
            "<line x1=\"0\" y1=\"45\" x2=\"\(count * 200)\" y2=\"45\" stroke=\"\(Palette.grid)\" stroke-dasharray=\"3 3\"/>"
        )
        var points: [String] = []
        for (index, stage) in map.stages.enumerated() {
            guard let sentiment = stage.averageSentiment, sentiment.isFinite else { continue }
            let x = index * 200 + 100
            let y = 45 - min(max(sentiment, -1), 1) * 35
            points.append("\(x),\(MapFormat.fixed(y, decimals: 1))")
            html.raw(
                "<circle cx=\"\(x)\" cy=\"\(MapFormat.fixed(y, decimals: 1))\" r=\"5\" fill=\"\(Palette.emotion)\"/>")
            html.raw(
                "<text x=\"\(x + 9)\" y=\"\(MapFormat.fixed(y + 4, decimals: 1))\" font-size=\"12\" fill=\"\(Palette.ink)\">"
            )
            html.text(MapFormat.sentiment(sentiment))
            html.raw("</text>")
        }
        if points.count > 1 {
            html.raw(
                "<polyline points=\"\(points.joined(separator: " "))\" fill=\"none\" stroke=\"\(Palette.emotion)\" stroke-width=\"2\"/>"
            )
        }
        html.raw("</svg></div>\n")
        // The numbers go in the next row, under their stages; this fills the label column.
        html.raw("<div class=\"cell\"></div>\n")
        for stage in map.stages {
            html.raw("<div class=\"cell\">")
            numbers(
                &html,
                [
                    ("average sentiment", MapFormat.sentiment(stage.averageSentiment)),
                    ("moments with pain points", MapFormat.count(stage.painPoints)),
                ])
            html.raw("</div>\n")
        }
        html.raw("</section>\n")
    }

    private static func momentLane(_ html: inout HTMLBuilder, _ map: JourneyMapDocument) {
        lane(&html, "Critical moments", id: "moments")
        for stage in map.stages {
            html.raw("<div class=\"cell\">")
            let share = stage.moments > 0 ? Double(stage.recovered) / Double(stage.moments) : nil
            numbers(
                &html,
                [
                    ("flagged", MapFormat.count(stage.moments)),
                    ("came back", MapFormat.count(stage.recovered)),
                    ("recovered share", MapFormat.percent(share)),
                    ("revenue", MapFormat.money(stage.revenue)),
                ])
            html.raw("</div>\n")
        }
        html.raw("</section>\n")
    }

    private static func opportunityLane(_ html: inout HTMLBuilder, _ map: JourneyMapDocument) {
        html.raw("<section class=\"opportunities\" aria-labelledby=\"opportunities\">\n")
        html.raw("<h2 id=\"opportunities\">Opportunities</h2>\n")
        if map.opportunities.isEmpty {
            html.raw(
                "<p class=\"none\">No stage has a conversion target (<code>target: { step_conversion: … }</code> in the configuration).</p>\n"
            )
        } else {
            html.raw(
                "<table><thead><tr><th>rank</th><th>stage</th><th>instances missing to the target</th><th>revenue it would bring</th></tr></thead><tbody>\n"
            )
            for opportunity in map.opportunities {
                html.raw("<tr><td>")
                html.text(String(opportunity.rank))
                html.raw("</td><td>")
                html.text(opportunity.stage)
                html.raw("</td><td>")
                html.text(MapFormat.count(opportunity.missingToTarget))
                html.raw("</td><td>")
                html.text(MapFormat.money(opportunity.revenue))
                html.raw("</td></tr>\n")
            }
            html.raw("</tbody></table>\n")
        }
        html.raw("</section>\n")
    }

    // MARK: Helpers

    private static func lane(_ html: inout HTMLBuilder, _ title: String, id: String) {
        html.raw("<section class=\"lane\" aria-labelledby=\"\(id)\">\n<h2 id=\"\(id)\">")
        html.text(title)
        html.raw("</h2>\n")
    }

    /// Label and value pairs, as a definition list.
    private static func numbers(_ html: inout HTMLBuilder, _ pairs: [(String, String)]) {
        html.raw("<dl>")
        for (label, value) in pairs {
            html.raw("<dt>")
            html.text(label)
            html.raw("</dt><dd>")
            html.text(value)
            html.raw("</dd>")
        }
        html.raw("</dl>")
    }

    private static func stylesheet(stageCount: Int) -> String {
        """
        * { box-sizing: border-box; }
        body { margin: 16px; font: 13px/1.35 system-ui, -apple-system, "Segoe UI", sans-serif; color: \(Palette.ink); background: #ffffff; }
        header h1 { font-size: 20px; margin: 0 0 4px; }
        .meta { color: \(Palette.muted); margin: 0 0 8px; }
        nav ul { list-style: none; padding: 0; margin: 0 0 8px; display: flex; flex-wrap: wrap; gap: 10px; }
        .map.persona { border-top: 3px solid \(Palette.reach); margin-top: 24px; padding-top: 12px; }
        .lane { display: grid; grid-template-columns: 130px repeat(\(max(stageCount, 1)), minmax(0, 1fr)); gap: 6px; border-top: 1px solid \(Palette.grid); padding: 6px 0; }
        .lane h2 { font-size: 13px; margin: 0; color: \(Palette.muted); }
        .cell { min-width: 0; }
        svg { display: block; width: 100%; height: auto; }
        .cell.wide { grid-column: 2 / -1; }
        .loop dl { grid-template-columns: repeat(6, auto auto); gap: 0 8px; justify-content: start; }
        .loop .sub { margin: 0; }
        dl { display: grid; grid-template-columns: auto auto; gap: 0 6px; margin: 2px 0; }
        dt { color: \(Palette.muted); }
        dd { margin: 0; text-align: right; font-variant-numeric: tabular-nums; }
        .sub { margin: 4px 0 0; color: \(Palette.muted); }
        .list { margin: 0; padding-left: 18px; }
        .none { color: \(Palette.muted); margin: 2px 0; }
        .opportunities { border-top: 1px solid \(Palette.grid); padding-top: 6px; }
        .opportunities h2 { font-size: 13px; color: \(Palette.muted); margin: 0 0 4px; }
        table { border-collapse: collapse; }
        th, td { padding: 2px 10px 2px 0; text-align: left; }
        td { font-variant-numeric: tabular-nums; }
        @media print {
          @page { size: landscape; margin: 8mm; }
          /* One landscape page: the screen layout, scaled down whole. */
          html { zoom: 0.72; }
          body { margin: 0; }
          nav { display: none; }
          .lane, .opportunities { break-inside: avoid; }
          .map.persona { break-before: page; }
        }

        """
    }

    /// `text` with XML's five special characters as entities: safe in element content and
    /// in quoted attribute values.
    public static func escape(_ text: String) -> String {
        var escaped = ""
        escaped.reserveCapacity(text.utf8.count)
        for character in text {
            switch character {
            case "&": escaped += "&amp;"
            case "<": escaped += "&lt;"
            case ">": escaped += "&gt;"
            case "\"": escaped += "&quot;"
            case "'": escaped += "&#39;"
            default: escaped.append(character)
            }
        }
        return escaped
    }
}

/// Markup being written: raw markup, or text that is escaped on the way in.
struct HTMLBuilder {
    private(set) var markup = ""

    mutating func raw(_ markup: String) { self.markup += markup }
    mutating func text(_ content: String) { markup += JourneyMapRenderer.escape(content) }
    mutating func element(_ name: String, _ content: String) {
        markup += "<\(name)>" + JourneyMapRenderer.escape(content) + "</\(name)>"
    }
}
