import ArgumentParser

/// The `cjmd` command line (SPEC §6).
@main
struct CJMD: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cjmd",
        abstract: "Live customer-journey analytics: touchpoint events in, journey funnels in PostgreSQL out.",
        subcommands: [
            MigrateCommand.self, CheckConfigCommand.self, ReplayCommand.self, RebuildCommand.self,
            ReportCommand.self, SimulateCommand.self,
        ]
    )
}
