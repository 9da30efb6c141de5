import JourneyConfig
import Testing

/// Yams rejects a whole document when a mapping repeats a key, naming only the first such
/// key. The loader repairs the text and keeps going, so each repetition is reported with
/// its key path, and the rest of the file is still validated.
@Suite("Keys written twice in one mapping")
struct DuplicateKeyTests {
    @Test func repeatedKeyIsReportedAtTheRepetitionWithItsPath() {
        let yaml = """
            journeys:
              - name: purchase
                conversion_window: 30d
                stages: [{name: a, events: [x]}, {name: b, events: [y]}]
                conversion_window: 7d   # repeated
            """
        let found = problems(in: yaml)
        #expect(found.count == 1)
        #expect(found.first?.keyPath == "journeys[0].conversion_window")
        #expect(found.first?.line == line(of: "# repeated", in: yaml))
        #expect(found.first?.message.contains("already set at line \(line(of: "30d", in: yaml))") == true)
    }

    @Test func everyRepetitionAndEveryOtherProblemIsReported() {
        let yaml = """
            ingest:
              batch_max_events: 10
              batch_max_events: 20
              batch_max_events: 30
            alerts:
              z: -1
            journeys:
              - name: j
                stages:
                  - {name: a, events: [x], name: b}
                  - name: c
                    events: [y]
            """
        let found = problems(in: yaml)
        #expect(
            found.map(\.keyPath) == [
                "ingest.batch_max_events", "ingest.batch_max_events", "alerts.z", "journeys[0].stages[0].name",
            ], "\(found.map(\.description).joined(separator: "\n"))")
        #expect(
            found.map(\.line) == [
                line(of: "20", in: yaml), line(of: "30", in: yaml), line(of: "z: -1", in: yaml),
                line(of: "name: b", in: yaml),
            ])
        #expect(found[0].message.contains("already set at line \(line(of: ": 10", in: yaml))"))
    }

    @Test func repairKeepsColumnsTrueOnTheSameLine() {
        // The repeated key is renamed in place; a later problem on the same line must keep its column.
        let yaml = minimalJourneys + "\ningest: {batch_max_delay: 1s, batch_max_delay: 2s, max_line_bytes: 1}\n"
        let found = problems(in: yaml)
        let flowLine = "ingest: {batch_max_delay: 1s, batch_max_delay: 2s, max_line_bytes: 1}"
        #expect(found.map(\.keyPath) == ["ingest.batch_max_delay", "ingest.max_line_bytes"])
        #expect(
            found.map(\.column) == [
                column(of: "batch_max_delay: 2s", in: flowLine),
                column(of: "1}", in: flowLine),
            ])
    }

    @Test func quotedRepeatedKeysAreFoundToo() {
        let yaml = minimalJourneys + "\ndatabase:\n  \"url\": postgresql:///a\n  'url': postgresql:///b\n"
        let found = problems(in: yaml)
        #expect(found.map(\.keyPath) == ["database.url"])
        #expect(found.first?.line == line(of: "'url'", in: yaml))
    }

    @Test func sameKeyInDifferentMappingsIsFine() throws {
        let config = try ConfigurationLoader.parse(yaml: minimalJourneys, fileName: "ok.yaml")
        #expect(config.journeys.first?.stages.count == 2)
    }
}
