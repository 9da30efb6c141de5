import Foundation
import JourneyMap
import JourneyStore
import PostgresClient
import Testing

/// The command line of docs/cli.md, through the real binary.
@Suite struct CommandLineTests {
    static let unreachable = "host=/nonexistent-cjmd-test port=1 dbname=none connect_timeout=2"

    @Test func checkConfigAcceptsTheShippedConfiguration() throws {
        let shipped = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("../../config/cjmd.yaml").standardized.path
        let result = try CommandRunner.run(["check-config", "--config", shipped])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.contains("OK"))
        // The alert plan: the level the default budget gives, the stages watched and not.
        #expect(result.stdout.contains("at most 0.5 false alarms per stage-month (p ≤ 9.5e-06 per evaluation)"))
        #expect(result.stdout.contains("watching purchase/awareness, purchase/consideration;"), "\(result.stdout)")
        #expect(result.stdout.contains("not watched (no abandon_after): purchase/purchase"))
        #expect(
            result.stdout.contains(
                "retention: raw events 400d behind the watermark, dead letters 30d; journeys, critical moments, aggregates and alerts for good"
            ), "\(result.stdout)")
    }

    @Test func checkConfigListsEveryProblemWithLineAndExits78() throws {
        let path = CommandRunner.temporaryFile(
            """
            journeys:
              - name: shop
                conversion_window: soon
                stages:
                  - name: only
                    events: [visit]
            ingest:
              batch_max_evnts: 10
            """)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let result = try CommandRunner.run(["check-config", "--config", path])
        #expect(result.status == 78)
        #expect(result.stderr.contains("\(path):3:"), "conversion_window is on line 3: \(result.stderr)")
        #expect(result.stderr.contains("journeys[0].conversion_window"))
        #expect(result.stderr.contains("journeys[0].stages"), "fewer than two stages: \(result.stderr)")
        #expect(result.stderr.contains(":8:"), "the unknown key is on line 8: \(result.stderr)")
        #expect(result.stderr.contains("batch_max_events"), "suggests the known key: \(result.stderr)")
    }

    @Test func missingConfigurationExits66() throws {
        let result = try CommandRunner.run(["check-config", "--config", "/nonexistent/cjmd.yaml"])
        #expect(result.status == 66)
        #expect(result.stderr.contains("/nonexistent/cjmd.yaml"))
    }

    /// A megabyte of problems on stderr, with nothing on stdout: every one is listed, and
    /// the test's runner (files, not pipes) gets all of it instead of blocking at 64 KiB.
    @Test func checkConfigListsThousandsOfProblems() throws {
        let unknown = (0..<5000).map { "  unknown_key_\($0): 1\n" }.joined()
        let config = CommandRunner.temporaryFile(
            CommandRunner.configuration(databaseURL: Self.unreachable)
                + "\ningest:\n" + unknown)
        defer { try? FileManager.default.removeItem(atPath: config) }
        let result = try CommandRunner.run(["check-config", "--config", config])
        #expect(result.status == 78)
        #expect(result.stderr.utf8.count > 1 << 20, "\(result.stderr.utf8.count) bytes")
        #expect(result.stderr.contains("ingest.unknown_key_0: unknown key"))
        #expect(result.stderr.contains("ingest.unknown_key_4999: unknown key"))
    }

    @Test func usageErrorsExit64() throws {
        let config = CommandRunner.temporaryFile(CommandRunner.configuration(databaseURL: Self.unreachable))
        defer { try? FileManager.default.removeItem(atPath: config) }
        #expect(try CommandRunner.run(["replay", "--config", config]).status == 64)
        #expect(try CommandRunner.run(["replay", "--config", config, "--as-of", "yesterday", "x.ndjson"]).status == 64)
        let noBatch = try CommandRunner.run(["replay", "--config", config, "--batch-events", "0", "x.ndjson"])
        #expect(noBatch.status == 64)
        #expect(noBatch.stderr.contains("--batch-events 0 is out of range"), "\(noBatch.stderr)")
        #expect(try CommandRunner.run(["no-such-command"]).status == 64)
        let negativeDrain = try CommandRunner.run(["run", "--config", config, "--drain-timeout=-1"])
        #expect(negativeDrain.status == 64)
        #expect(
            negativeDrain.stderr.contains("--drain-timeout must be a number of seconds, 0 or more"),
            "\(negativeDrain.stderr)")
    }

    @Test func unreachableDatabaseExits69AndSaysWhatToCheck() throws {
        let config = CommandRunner.temporaryFile(CommandRunner.configuration(databaseURL: Self.unreachable))
        defer { try? FileManager.default.removeItem(atPath: config) }
        let result = try CommandRunner.run(["migrate", "--config", config])
        #expect(result.status == 69)
        #expect(result.stderr.contains("database.url"))
    }

    @Test func simulateIsDeterministicPerSeed() throws {
        let config = CommandRunner.temporaryFile(CommandRunner.configuration(databaseURL: Self.unreachable))
        defer { try? FileManager.default.removeItem(atPath: config) }
        let a = try CommandRunner.run(["simulate", "--config", config, "--customers", "300", "--seed", "5"])
        let b = try CommandRunner.run(["simulate", "--config", config, "--customers", "300", "--seed", "5"])
        let c = try CommandRunner.run(["simulate", "--config", config, "--customers", "300", "--seed", "6"])
        #expect(a.status == 0)
        #expect(a.stdout.split(separator: "\n").count > 600)
        #expect(a.stdout == b.stdout)
        #expect(a.stdout != c.stdout)

        // UUID ids: the same lines but for the ids, each a canonical version-4 UUID, all distinct.
        let u = try CommandRunner.run([
            "simulate", "--config", config, "--customers", "300", "--seed", "5", "--uuid-event-ids",
        ])
        let sequentialLines = a.stdout.split(separator: "\n")
        let uuidLines = u.stdout.split(separator: "\n")
        #expect(uuidLines.count == sequentialLines.count)
        let uuid = /"event_id":"([0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12})"/
        let sequential = /"event_id":"e5-[0-9]+"/
        var ids = Set<Substring>()
        for (s, line) in zip(sequentialLines, uuidLines) {
            if let match = line.firstMatch(of: uuid) {
                ids.insert(match.1)
                #expect(line.replacing(uuid, with: "") == s.replacing(sequential, with: ""))
            } else {
                #expect(line == s)  // an event without id
            }
        }
        #expect(ids.count > sequentialLines.count * 8 / 10)
    }

    @Test(.enabled(if: ProcessInfo.processInfo.environment["CJM_TEST_DATABASE_URL"] != nil))
    func replayThenReportInEveryFormat() throws {
        let base = try #require(ProcessInfo.processInfo.environment["CJM_TEST_DATABASE_URL"])
        let admin = try PostgresConnection(conninfo: base)
        let name = "cjm_cli_\(String(UInt64.random(in: 0...UInt64.max), radix: 36))"
        try admin.executeScript("CREATE DATABASE \(name)")
        defer { try? admin.executeScript("DROP DATABASE IF EXISTS \(name) WITH (FORCE)") }
        let config = CommandRunner.temporaryFile(CommandRunner.configuration(databaseURL: base + " dbname=\(name)"))
        defer { try? FileManager.default.removeItem(atPath: config) }

        let simulated = try CommandRunner.run([
            "simulate", "--config", config, "--customers", "500", "--malformed", "0.01",
        ])
        let events = CommandRunner.temporaryFile(simulated.stdout, suffix: ".ndjson")
        defer { try? FileManager.default.removeItem(atPath: events) }
        #expect(try CommandRunner.run(["replay", "--config", config, "/nonexistent.ndjson"]).status == 66)
        let replay = try CommandRunner.run(["replay", "--config", config, events])
        #expect(replay.status == 0, "\(replay.stderr)")
        #expect(replay.stdout.contains("stored"))
        // The same file again is read from where the first replay ended: nothing new, so
        // nothing rejected either. Another file with the same lines is read whole.
        let resumed = try CommandRunner.run(["replay", "--config", config, "--fail-on-rejected", events])
        #expect(resumed.status == 0, "\(resumed.stderr)")
        #expect(resumed.stderr.contains("resuming after the lines an earlier replay committed"), "\(resumed.stderr)")
        let copy = CommandRunner.temporaryFile(simulated.stdout, suffix: ".ndjson")
        defer { try? FileManager.default.removeItem(atPath: copy) }
        let strict = try CommandRunner.run(["replay", "--config", config, "--fail-on-rejected", copy])
        #expect(strict.status == 65, "the simulated file has malformed lines")
        // Standard input works too, and changes nothing the second time.
        let again = try CommandRunner.run(["replay", "--config", config, "-"], stdin: Data(simulated.stdout.utf8))
        #expect(again.status == 0)
        #expect(again.stdout.contains(" 0 stored"), "\(again.stdout)")

        let connection = try PostgresConnection(conninfo: base + " dbname=\(name)")
        let funnel = try FunnelQuery.funnel(connection)
        #expect(funnel.count == 3)
        #expect(funnel[0].reached > 0)

        let json = try CommandRunner.run(["report", "--config", config, "--format", "json"])
        #expect(json.status == 0)
        let rows = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [[String: Any]])
        #expect(rows.count == 3)
        #expect((rows[0]["reached"] as? Int).map(Int64.init) == funnel[0].reached)
        #expect(rows[2]["step_conversion"] is NSNull)

        let csv = try CommandRunner.run(["report", "--config", config, "--format", "csv"])
        let lines = csv.stdout.split(separator: "\n")
        #expect(lines.count == 4)
        #expect(lines[0].hasPrefix("journey,stage_index,stage,reached"))
        #expect(lines[1].hasPrefix("shop,0,visit,\(funnel[0].reached),"))

        let table = try CommandRunner.run(["report", "--config", config])
        #expect(table.stdout.contains("journey shop"))

        // Per persona: every persona's stage-0 reach adds up to the funnel's.
        let byPersona = try CommandRunner.run(["report", "--config", config, "--by", "persona", "--format", "csv"])
        #expect(byPersona.status == 0, "\(byPersona.stderr)")
        let personaRows = byPersona.stdout.split(separator: "\n").map { $0.split(separator: ",").map(String.init) }
        #expect(personaRows.first?.prefix(4) == ["journey", "persona", "stage_index", "stage"])
        let entries = personaRows.dropFirst().filter { $0.count > 4 && $0[2] == "0" }
        #expect(entries.reduce(Int64(0)) { $0 + (Int64($1[4]) ?? 0) } == funnel[0].reached)
        if let first = entries.first {
            let one = try CommandRunner.run(["report", "--config", config, "--persona", first[1], "--format", "csv"])
            #expect(one.status == 0)
            #expect(one.stdout.split(separator: "\n").dropFirst().first?.hasPrefix("shop,\(first[1]),0,") == true)
            let tableOne = try CommandRunner.run(["report", "--config", config, "--persona", first[1]])
            #expect(tableOne.stdout.contains("journey shop · persona \(first[1])"))
        }
        let nobody = try CommandRunner.run(["report", "--config", config, "--persona", "nobody"])
        #expect(nobody.status == 65, "\(nobody.status) \(nobody.stderr) \(nobody.stdout)")
        #expect(
            try CommandRunner.run(["report", "--config", config, "--persona", "a", "--by", "persona"]).status == 64)
        #expect(try CommandRunner.run(["report", "--config", config, "--journey", "nope"]).status == 65)

        // The repeat loop: the view's rows, as CSV, and as a table with what brought customers back.
        let loop = try CommandRunner.run(["report", "--config", config, "--loop", "--format", "csv"])
        #expect(loop.status == 0, "\(loop.stderr)")
        let loopRows = loop.stdout.split(separator: "\n").map {
            $0.split(separator: ",", omittingEmptySubsequences: false)
        }
        #expect(loopRows.first?.joined(separator: ",") == RepeatLoopRow.columns.joined(separator: ","))
        let everyone = try #require(try RepeatLoopQuery.loop(connection, journey: "shop", persona: "*").first)
        #expect(everyone.converted > 0 && everyone.returned > 0, "simulated customers buy and come back")
        #expect(
            loopRows.dropFirst().first.map { $0.prefix(6).joined(separator: ",") }
                == "shop,*,\(everyone.converted),\(everyone.returned),\(everyone.pending),\(everyone.didNotReturn)")
        let loopTable = try CommandRunner.run(["report", "--config", config, "--loop"])
        #expect(loopTable.stdout.contains("journey shop · repeat loop"), "\(loopTable.stdout)")
        let trigger = try #require(try RepeatLoopQuery.triggers(connection, journey: "shop", limit: 1).first)
        #expect(loopTable.stdout.contains("brought back by: \(trigger.event) @ \(trigger.touchpoint)"))
        #expect(try CommandRunner.run(["report", "--config", config, "--loop", "--by", "persona"]).status == 64)
        #expect(try CommandRunner.run(["report", "--config", config, "--loop", "--persona", "nobody"]).status == 65)

        // The map: to a file, or to standard output; for a period; refused without a journey.
        let mapFile = CommandRunner.temporaryFile("", suffix: ".html")
        defer { try? FileManager.default.removeItem(atPath: mapFile) }
        let map = try CommandRunner.run(["map", "--config", config, "-o", mapFile])
        #expect(map.status == 0, "\(map.stderr)")
        let html = try String(contentsOfFile: mapFile, encoding: .utf8)
        #expect(html.hasPrefix("<!DOCTYPE html>") && html.contains("Journey map: shop"))
        #expect(html.contains(">visit</text>") && html.contains(MapFormat.count(funnel[0].reached)))
        let period = try CommandRunner.run([
            "map", "--config", config, "--journey", "shop", "--from", "2020-01-01T00:00:00Z", "--to",
            "2030-01-01T00:00:00Z",
        ])
        #expect(period.status == 0, "\(period.stderr)")
        #expect(period.stdout.contains("instances that entered from 2020-01-01T00:00:00"))
        #expect(period.stdout.contains(" to 2030-01-01T00:00:00"))
        #expect(try CommandRunner.run(["map", "--config", config, "--journey", "nope"]).status == 65)
        #expect(try CommandRunner.run(["map", "--config", config, "--from", "2020-01-01T00:00:00Z"]).status == 64)
        let persona = try CommandRunner.run(["map", "--config", config, "--persona", "students"])
        #expect(persona.status == 65 && persona.stderr.contains("no instance of persona students"))
    }
}
