import JourneyConfig
import Testing

@Suite("Each kind of mistake is reported with its key path and line")
struct ProblemReportingTests {
    @Test(arguments: problemCases)
    func reportsTheMistake(_ problemCase: ProblemCase) {
        let found = problems(in: problemCase.yaml)
        #expect(
            found.count == 1, "expected exactly one problem, got:\n\(found.map(\.description).joined(separator: "\n"))")
        guard let problem = found.first else { return }
        #expect(problem.keyPath == problemCase.keyPath)
        #expect(problem.line == line(of: problemCase.marker, in: problemCase.yaml))
        #expect(problem.file == "test.yaml")
        for fragment in problemCase.messageContains {
            #expect(problem.message.contains(fragment), "message \"\(problem.message)\" lacks \"\(fragment)\"")
        }
        #expect(problem.description.hasPrefix("test.yaml:\(problem.line):\(problem.column): "))
    }

    @Test func everyProblemInAFileIsReportedInOrder() {
        let yaml = """
            database:
              url: ""
            sources:
              - type: tcp
                listen: 127.0.0.1:99999
              - type: unix
                path: /run/cjmd/events.sock
                mode: "0888"
            ingest:
              batch_max_delay: soon
              max_line_bytes: 10
            journeys:
              - name: purchase
                conversion_window: 3 weeks
                stages:
                  - name: only
                    events: []
                    abandon_after: 1y
            alerts:
              z: 0
              colour: red
            """
        let found = problems(in: yaml)
        let expected: [(String, Int)] = [
            ("database.url", line(of: "url: \"\"", in: yaml)),
            ("sources[0].listen", line(of: "99999", in: yaml)),
            ("sources[1].mode", line(of: "0888", in: yaml)),
            ("ingest.batch_max_delay", line(of: "soon", in: yaml)),
            ("ingest.max_line_bytes", line(of: "max_line_bytes", in: yaml)),
            ("journeys[0].conversion_window", line(of: "3 weeks", in: yaml)),
            ("journeys[0].stages", line(of: "stages:", in: yaml)),
            ("journeys[0].stages[0].events", line(of: "events: []", in: yaml)),
            ("journeys[0].stages[0].abandon_after", line(of: "1y", in: yaml)),
            ("alerts.z", line(of: "z: 0", in: yaml)),
            ("alerts.colour", line(of: "colour", in: yaml)),
        ]
        #expect(found.map(\.keyPath) == expected.map(\.0), "\(found.map(\.description).joined(separator: "\n"))")
        #expect(found.map(\.line) == expected.map(\.1))
        let description = ConfigurationError.invalid(found).description
        #expect(description.split(separator: "\n").count == expected.count)
    }

    @Test func descriptionIsFileLineColumnKeyPathMessage() throws {
        let yaml = minimalJourneys + "\ningest:\n  batch_max_delay: 3 days\n"
        let found = problems(in: yaml, fileName: "/etc/cjmd/cjmd.yaml")
        let problem = try #require(found.first)
        let expectedLine = line(of: "3 days", in: yaml)
        let expectedColumn = column(of: "3 days", in: yaml)
        #expect(
            problem.description == "/etc/cjmd/cjmd.yaml:\(expectedLine):\(expectedColumn): ingest.batch_max_delay: "
                + "expected a duration such as 90s, 15m, 36h or 7d (a whole number and one unit: us, ms, s, m, h or d), "
                + "got \"3 days\"")
    }

    @Test func unknownKeysInsideUnknownTypedSourceAreStillReported() {
        let yaml =
            minimalJourneys + """

                sources:
                  - type: pipe
                    path: /tmp/x
                    lisen: 1.2.3.4:5
                """
        let found = problems(in: yaml)
        #expect(found.map(\.keyPath) == ["sources[0].type", "sources[0].lisen"])
        #expect(found.last?.message.contains("did you mean \"listen\"?") == true)
        #expect(found.map(\.line) == [line(of: "pipe", in: yaml), line(of: "lisen", in: yaml)])
    }

    @Test func problemColumnsPointAtTheValue() {
        let yaml = minimalJourneys + "\nalerts:\n  min_delta: 2\n"
        let problem = problems(in: yaml).first
        #expect(problem?.column == column(of: "2", in: "  min_delta: 2"))
    }
}
