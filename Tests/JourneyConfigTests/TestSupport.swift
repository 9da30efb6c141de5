import DaemonSettings
import JourneyConfig
import JourneyCore
import Testing

/// The 1-based line of the `occurrence`-th line of `yaml` that contains `marker`, so tests
/// derive expected positions from their own literals instead of copying loader output.
func line(of marker: String, in yaml: String, occurrence: Int = 1) -> Int {
    var seen = 0
    for (index, text) in yaml.split(separator: "\n", omittingEmptySubsequences: false).enumerated()
    where text.contains(marker) {
        seen += 1
        if seen == occurrence { return index + 1 }
    }
    Issue.record("marker \(marker) not found \(occurrence) time(s) in the test YAML")
    return -1
}

/// The 1-based column where `marker` starts on its first line.
func column(of marker: String, in yaml: String) -> Int {
    for text in yaml.split(separator: "\n", omittingEmptySubsequences: false) {
        if let range = text.range(of: marker) {
            return text.unicodeScalars.distance(from: text.startIndex, to: range.lowerBound) + 1
        }
    }
    Issue.record("marker \(marker) not found in the test YAML")
    return -1
}

/// The problems reported for `yaml`; records an issue when it unexpectedly loads.
func problems(in yaml: String, fileName: String = "test.yaml") -> [ConfigurationProblem] {
    do {
        let configuration = try ConfigurationLoader.parse(yaml: yaml, fileName: fileName)
        Issue.record("expected problems, but the configuration loaded: \(configuration.logSummary)")
        return []
    } catch {
        if case .invalid = error {} else { Issue.record("expected .invalid, got \(error)") }
        return error.problems
    }
}

/// A valid journeys section, for tests about other sections.
let minimalJourneys = """
    journeys:
      - name: signup
        stages:
          - name: visit
            events: [page_view]
          - name: account
            events: [account_created]
    """
