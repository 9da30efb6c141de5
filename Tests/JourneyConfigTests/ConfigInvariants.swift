import DaemonSettings
import Foundation
import JourneyConfig
import JourneyCore

/// What must hold for every configuration file, whatever its bytes (issue 7, docs/configuration.md).
///
/// Shared by the libFuzzer target (`fuzz/Sources/ConfigFuzzer` links this file through a
/// symlink) and by ``FuzzCorpusTests``, which replays the committed corpus in the normal suite.
/// It returns violations instead of asserting, so the fuzzer can stop at the first and the
/// test can list them all. Only public API is used.
enum ConfigInvariants {
    static let fileName = "fuzz.yaml"

    /// Two parses that differ through an open finding of the fuzzer (fuzz/README.md), exempted:
    /// when the composer gives up on repeated keys it reports one of them, and which one can
    /// change from run to run (Yams sorts the repeated keys with an order that is not total for
    /// keys that are not plain text, e.g. `? [a]` twice and `? {b: 2}` twice, shown as
    /// "<uncovertable>", so a Dictionary's order decides).
    static func isKnownNondeterminism(
        _ first: Result<CJMConfiguration, ConfigurationError>, _ second: Result<CJMConfiguration, ConfigurationError>
    ) -> Bool {
        [first, second].allSatisfy { result in
            guard case .failure(let error) = result, error.problems.count == 1, let only = error.problems.first else {
                return false
            }
            return only.message.hasPrefix("the key \"")
                && only.message.contains("\" is written more than once in one mapping")
        }
    }

    /// The violations of one file's content; empty when the loader behaved.
    static func violations(of bytes: [UInt8]) -> [String] {
        let text = String(decoding: bytes, as: UTF8.self)
        guard text.utf8.elementsEqual(bytes) else { return invalidUTF8Violations(bytes) }

        var found: [String] = []
        let result = parse(text)
        let again = parse(text)
        if again != result, !isKnownNondeterminism(result, again) {
            found.append(
                "parsing the same text twice gave different results: \(summary(result)) then \(summary(again))")
        }
        switch result {
        case .success(let configuration):
            checkConfiguration(configuration, into: &found)
        case .failure(.invalid(let problems)):
            checkProblems(problems, in: text, into: &found)
        case .failure(let error):
            found.append("parse(yaml:) threw \(error), which only reading a file may throw")
        }
        return found
    }

    static func parse(_ text: String) -> Result<CJMConfiguration, ConfigurationError> {
        Result { () throws(ConfigurationError) in try ConfigurationLoader.parse(yaml: text, fileName: fileName) }
    }

    /// A short form of a result for violation messages: the first problems, or the journeys.
    static func summary(_ result: Result<CJMConfiguration, ConfigurationError>) -> String {
        switch result {
        case .success(let configuration): "loaded \(configuration.journeys.map(\.name))"
        case .failure(let error): error.problems.prefix(3).map(\.description).joined(separator: " | ")
        }
    }

    // MARK: Problems

    /// At least one problem, each located on a line of the file and saying something, each on
    /// one line of output (check-config prints one problem per line), in file order.
    private static func checkProblems(_ problems: [ConfigurationProblem], in text: String, into found: inout [String]) {
        guard !problems.isEmpty else {
            found.append("rejected with no problem to show")
            return
        }
        let lastLine = lastReportableLine(text)
        for problem in problems {
            if problem.file != fileName { found.append("problem names the file \(problem.file), not \(fileName)") }
            if problem.line < 1 || problem.line > lastLine {
                found.append("problem at line \(problem.line) of a \(lastLine)-line file: \(problem)")
            }
            if problem.column < 1 { found.append("problem at column \(problem.column): \(problem)") }
            if problem.message.trimmingCharacters(in: .whitespaces).isEmpty {
                found.append("problem with an empty message at line \(problem.line)")
            }
            if hasControlCharacters(problem.description) {
                found.append("problem is not one plain line of output: \(problem.description.debugDescription)")
            }
        }
        let positions = problems.map { [$0.line, $0.column] }
        if positions != positions.sorted(by: { $0.lexicographicallyPrecedes($1) }) {
            found.append("problems are not in file order: \(positions)")
        }
    }

    /// C0 controls (line breaks, tabs, escape) and DEL: they split a problem over several
    /// lines of `check-config` output or drive the terminal, so text quoted from the file must
    /// show them escaped. (U+0085, U+2028 and U+2029 are left alone: terminals and line-based
    /// tools do not break lines there.)
    static func hasControlCharacters(_ text: String) -> Bool {
        text.unicodeScalars.contains {
            $0.value < 0x20 || (0x7F...0x9F).contains($0.value) || $0.value == 0x2028 || $0.value == 0x2029
        }
    }

    /// The last line a problem may point to. Lines end as libyaml ends them (LF, CR, CRLF, NEL,
    /// LS, PS). At the end of a file without a final line break libyaml moves to the next line
    /// before it reports "the file ends inside ...", so one line past the last is allowed there.
    static func lastReportableLine(_ text: String) -> Int {
        var lines = 1
        var previousWasCR = false
        var endsWithBreak = false
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\n": if !previousWasCR { lines += 1 }
            case "\r", "\u{85}", "\u{2028}", "\u{2029}": lines += 1
            default: break
            }
            previousWasCR = scalar == "\r"
            endsWithBreak = ["\n", "\r", "\u{85}", "\u{2028}", "\u{2029}"].contains(scalar)
        }
        return endsWithBreak ? lines : lines + 1
    }

    // MARK: A valid configuration

    /// A configuration that loads obeys every rule the loader promises (docs/configuration.md), so the
    /// engine never meets an impossible value.
    private static func checkConfiguration(_ configuration: CJMConfiguration, into found: inout [String]) {
        if configuration.journeys.isEmpty { found.append("loaded with no journey") }
        if Set(configuration.journeys.map(\.name)).count != configuration.journeys.count {
            found.append("two journeys share a name")
        }
        for journey in configuration.journeys {
            let subject = "journey \(journey.name.debugDescription)"
            if journey.name.isEmpty { found.append("a journey with an empty name") }
            if journey.stages.count < 2 { found.append("\(subject) has \(journey.stages.count) stages (at least 2)") }
            if Set(journey.stages.map(\.name)).count != journey.stages.count {
                found.append("\(subject) repeats a stage name")
            }
            if journey.conversionWindow <= .zero {
                found.append("\(subject) has conversion_window \(journey.conversionWindow)")
            }
            for (index, stage) in journey.stages.enumerated() {
                let stageWhere = "\(subject) stage \(stage.name.debugDescription)"
                if stage.name.isEmpty { found.append("\(subject) has a stage with an empty name") }
                if stage.events.isEmpty { found.append("\(stageWhere) has no events") }
                for pattern in stage.events where pattern.text.isEmpty || pattern.text.utf8.count > 128 {
                    found.append("\(stageWhere) has a pattern of \(pattern.text.utf8.count) bytes")
                }
                if let touchpoints = stage.touchpoints {
                    if touchpoints.isEmpty { found.append("\(stageWhere) has an empty touchpoint list") }
                    for touchpoint in touchpoints where touchpoint.isEmpty || touchpoint.utf8.count > 128 {
                        found.append("\(stageWhere) has a touchpoint of \(touchpoint.utf8.count) bytes")
                    }
                }
                if let abandon = stage.abandonAfter, abandon <= .zero {
                    found.append("\(stageWhere) has abandon_after \(abandon)")
                }
                if index == journey.stages.count - 1, stage.abandonAfter != nil {
                    found.append("\(stageWhere) is last but has abandon_after")
                }
            }
            if let below = journey.critical.sentimentBelow, !(-1...1).contains(below) {
                found.append("\(subject) has sentiment_below \(below)")
            }
        }

        let ingest = configuration.ingest
        if !(256...(64 << 20)).contains(ingest.maxLineBytes) { found.append("max_line_bytes \(ingest.maxLineBytes)") }
        if ingest.batchMaxEvents < 1 { found.append("batch_max_events \(ingest.batchMaxEvents)") }
        if ingest.batchMaxDelay <= .zero { found.append("batch_max_delay \(ingest.batchMaxDelay)") }
        if !(1...1_000_000).contains(ingest.maxConnections) { found.append("max_connections \(ingest.maxConnections)") }
        for span in [ingest.allowedLateness, ingest.maxFutureSkew, ingest.idleTimeout] where span < .zero {
            found.append("a negative ingest duration \(span)")
        }

        let alerts = configuration.alerts
        let baselineFits: Bool
        switch alerts.baseline {
        case .preceding(let span): baselineFits = span >= alerts.window
        case .sameHourDays(let days): baselineFits = (1...28).contains(days) && alerts.window <= .hours(24)
        case .sameHourWeeks(let weeks): baselineFits = (1...8).contains(weeks) && alerts.window <= .days(7)
        }
        if alerts.window <= .zero || !baselineFits {
            found.append("alerts window \(alerts.window), baseline \(alerts.baseline)")
        }
        if alerts.minDecided < 1 { found.append("min_decided \(alerts.minDecided)") }
        if let z = alerts.z, !(z > 0 && z.isFinite) { found.append("z \(z)") }
        if !(alerts.falseAlarmsPerMonth > 0 && alerts.falseAlarmsPerMonth <= 1000) {
            found.append("false_alarms_per_month \(alerts.falseAlarmsPerMonth)")
        }
        if !(0...1).contains(alerts.minDelta) { found.append("min_delta \(alerts.minDelta)") }
        if let webhook = alerts.webhook,
            !(webhook.lowercased().hasPrefix("http://") || webhook.lowercased().hasPrefix("https://"))
        {
            found.append("webhook \(webhook.debugDescription) is not http(s)")
        }

        if Set(configuration.sources.map(\.name)).count != configuration.sources.count {
            found.append("two sources share a name")
        }
        for source in configuration.sources {
            if source.name.isEmpty || source.name.utf8.count > 255 {
                found.append("source name of \(source.name.utf8.count) bytes")
            }
            switch source.kind {
            case .unix(let path, let mode):
                if path.isEmpty || path.utf8.count > 107 {
                    found.append("unix socket path of \(path.utf8.count) bytes")
                }
                if mode > 0o777 { found.append("unix socket mode \(String(mode, radix: 8))") }
            case .tcp(let host, let port):
                if host.isEmpty || !(1...65535).contains(port) { found.append("tcp listen \(host):\(port)") }
            case .tail(let path, _):
                if path.isEmpty { found.append("tail source with an empty path") }
            case .http(let http):
                if http.host.isEmpty || !(1...65535).contains(http.port) {
                    found.append("http listen \(http.host):\(http.port)")
                }
                if http.writeKeys.isEmpty { found.append("http source without write keys") }
                if !(1024...(1 << 30)).contains(http.maxBodyBytes) {
                    found.append("http max_body_bytes \(http.maxBodyBytes)")
                }
            case .jetstream(let bus):
                if bus.servers.isEmpty || !bus.servers.allSatisfy({ $0.hasPrefix("nats://") || $0.hasPrefix("tls://") })
                {
                    found.append("jetstream servers \(bus.servers)")
                }
                if !(1...1024).contains(bus.partitions) { found.append("jetstream partitions \(bus.partitions)") }
                if !(1...5).contains(bus.replicas) { found.append("jetstream replicas \(bus.replicas)") }
                if case .some(let list) = bus.ownedPartitions,
                    list.isEmpty || list.contains(where: { $0 >= bus.partitions })
                {
                    found.append("jetstream owned partitions \(list) of \(bus.partitions)")
                }
                if source.forwardTo != nil { found.append("a jetstream source forwards") }
            }
            if let target = source.forwardTo,
                !configuration.sources.contains(where: {
                    if case .jetstream = $0.kind { $0.name == target } else { false }
                })
            {
                found.append("\(source.name) forwards to \(target), which is no jetstream source")
            }
        }
    }

    // MARK: Bytes that are not UTF-8

    /// A file that is not UTF-8 is refused with one problem at its first bad byte.
    private static func invalidUTF8Violations(_ bytes: [UInt8]) -> [String] {
        let path = FileManager.default.temporaryDirectory
            .appendingPathComponent("cjmd-fuzz-config-\(ProcessInfo.processInfo.processIdentifier).yaml").path
        guard FileManager.default.createFile(atPath: path, contents: Data(bytes)) else {
            return ["cannot write the temporary file \(path)"]
        }
        defer { try? FileManager.default.removeItem(atPath: path) }
        let problems: [ConfigurationProblem]
        do {
            let configuration = try ConfigurationLoader.load(path: path)
            return ["a file that is not UTF-8 loaded: \(configuration.journeys.map(\.name))"]
        } catch {
            guard case .invalid(let list) = error else { return ["a file that is not UTF-8 gave \(error)"] }
            problems = list
        }
        let (line, column) = firstInvalidPosition(bytes)
        guard problems.count == 1, let problem = problems.first else {
            return ["\(problems.count) problems for bad UTF-8"]
        }
        if problem.line != line || problem.column != column {
            return [
                "bad UTF-8 reported at \(problem.line):\(problem.column), the first bad byte is at \(line):\(column)"
            ]
        }
        return problem.message.isEmpty ? ["bad UTF-8 reported with an empty message"] : []
    }

    /// Line and column (in scalars, 1-based) of the first byte that breaks UTF-8, found with
    /// the standard library's decoder.
    static func firstInvalidPosition(_ bytes: [UInt8]) -> (line: Int, column: Int) {
        var parser = Unicode.UTF8.ForwardParser()
        var iterator = bytes.makeIterator()
        var line = 1
        var column = 1
        while true {
            switch parser.parseScalar(from: &iterator) {
            case .valid(let encoded):
                if encoded.count == 1, encoded.first == UInt8(ascii: "\n") {
                    line += 1
                    column = 1
                } else {
                    column += 1
                }
            case .error, .emptyInput:
                return (line, column)
            }
        }
    }
}
