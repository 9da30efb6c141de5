import JourneyConfig
import Testing

/// Aliases of aliases can make a small file expand enormously (the config fuzzer's finding
/// 1: 3 KB took a minute to validate). Such a file is refused with one problem.
@Suite struct AliasExpansionTests {
    @Test func aliasBombIsRefusedWithOneProblem() throws {
        let n = 300
        let yaml = """
            e: &e [\(Array(repeating: "x", count: n).joined(separator: ", "))]
            s: &s {name: s, events: *e}
            st: &st [\(Array(repeating: "*s", count: n).joined(separator: ", "))]
            j: &j {name: j, stages: *st}
            journeys: [\(Array(repeating: "*j", count: n).joined(separator: ", "))]
            """
        #expect(yaml.utf8.count < 4096)
        let error = try #require(throws: ConfigurationError.self) {
            try ConfigurationLoader.parse(yaml: yaml, fileName: "bomb.yaml")
        }
        #expect(error.problems.count == 1)
        #expect(
            error.problems.first?.message.contains("once its aliases (*name) are expanded") == true,
            "\(error.problems.prefix(3))")
    }

    /// Aliases used the way people use them (a shared stage list) still load.
    @Test func modestAliasesStillLoad() throws {
        let yaml = """
            journeys:
              - name: web
                stages: &stages
                  - {name: visit, events: [visit], abandon_after: 1d}
                  - {name: buy, events: [buy]}
              - {name: app, stages: *stages}
            """
        let configuration = try ConfigurationLoader.parse(yaml: yaml, fileName: "shared.yaml")
        #expect(configuration.journeys.map(\.name) == ["web", "app"])
    }
}

/// libyaml counts NEL, LS and PS as line breaks; the repair of repeated keys counts lines
/// the same way (the config fuzzer's finding 5), so every repetition is still reported.
@Suite struct LineBreakCountingTests {
    @Test(arguments: ["\u{85}", "\u{2028}", "\u{2029}"])
    func repeatedKeysAfterUnicodeLineBreaksAreAllReported(lineBreak: String) throws {
        let yaml =
            "journeys: []\nservice: {metrics_listen: \"x\(lineBreak)y\"}\nalerts: {z: 1}\nalerts: {z: 2}\ningest: {}\ningest: {}\n"
        let error = try #require(throws: ConfigurationError.self) {
            try ConfigurationLoader.parse(yaml: yaml, fileName: "breaks.yaml")
        }
        let repeated = error.problems.filter { $0.message.contains("is already set at line") }
        #expect(repeated.count == 2, "\(error.problems)")
        #expect(
            error.problems.contains { $0.message.contains("define at least one journey") },
            "validation went on: \(error.problems)")
    }
}
