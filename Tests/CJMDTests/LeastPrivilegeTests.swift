import Foundation
import PostgresClient
import Testing

/// The daemon's own database role needs no superuser (issue 7, least privilege): an owner
/// of its database with no special attributes migrates, replays, rebuilds and reports.
@Suite(.enabled(if: ProcessInfo.processInfo.environment["CJM_TEST_DATABASE_URL"] != nil))
struct LeastPrivilegeTests {
    @Test func ordinaryDatabaseOwnerRunsEveryCommand() throws {
        let base = try #require(ProcessInfo.processInfo.environment["CJM_TEST_DATABASE_URL"])
        let admin = try PostgresConnection(conninfo: base)
        let suffix = String(UInt64.random(in: 0...UInt64.max), radix: 36)
        let role = "cjmd_app_\(suffix)"
        let database = "cjm_lp_\(suffix)"
        try admin.executeScript(
            "CREATE ROLE \(role) LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS")
        try admin.executeScript("CREATE DATABASE \(database) OWNER \(role)")
        defer {
            try? admin.executeScript("DROP DATABASE IF EXISTS \(database) WITH (FORCE)")
            try? admin.executeScript("DROP ROLE IF EXISTS \(role)")
        }
        let conninfo = base + " dbname=\(database) user=\(role)"
        let config = CommandRunner.temporaryFile(CommandRunner.configuration(databaseURL: conninfo))
        defer { try? FileManager.default.removeItem(atPath: config) }

        let migrate = try CommandRunner.run(["migrate", "--config", config])
        #expect(migrate.status == 0, "migrate: \(migrate.stderr)")
        let simulated = try CommandRunner.run([
            "simulate", "--config", config, "--customers", "300", "--malformed", "0.01",
        ])
        let events = CommandRunner.temporaryFile(simulated.stdout, suffix: ".ndjson")
        defer { try? FileManager.default.removeItem(atPath: events) }
        let replay = try CommandRunner.run(["replay", "--config", config, events])
        #expect(replay.status == 0, "replay: \(replay.stderr)")
        let rebuild = try CommandRunner.run(["rebuild", "--config", config])
        #expect(rebuild.status == 0, "rebuild: \(rebuild.stderr)")
        let report = try CommandRunner.run(["report", "--config", config])
        #expect(report.status == 0, "report: \(report.stderr)")
        #expect(report.stdout.contains("visit"))

        let connection = try PostgresConnection(conninfo: conninfo)
        let attributes = try connection.execute(
            """
            SELECT rolsuper, rolcreaterole, rolcreatedb FROM pg_roles WHERE rolname = current_user
            """)
        #expect(attributes.string(row: 0, column: 0) == "f")
        #expect(attributes.string(row: 0, column: 1) == "f")
        #expect(attributes.string(row: 0, column: 2) == "f")
        let stored = try connection.execute(
            "SELECT (SELECT count(*) FROM cjm.events), (SELECT count(*) FROM cjm.rejected_events)")
        let lines = simulated.stdout.split(separator: "\n").count
        #expect(Int(stored.string(row: 0, column: 0) ?? "") ?? 0 > 0)
        #expect(
            (Int(stored.string(row: 0, column: 0) ?? "") ?? 0) + (Int(stored.string(row: 0, column: 1) ?? "") ?? 0)
                == lines)
    }
}
