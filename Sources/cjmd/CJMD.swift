import ArgumentParser

/// The `cjmd` command line (docs/cli.md).
@main
struct CJMD: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cjmd",
        abstract: "Live customer-journey analytics: touchpoint events in, journey funnels in PostgreSQL out.",
        subcommands: [
            RunCommand.self, MigrateCommand.self, CheckConfigCommand.self, ReplayCommand.self, RebuildCommand.self,
            ReportCommand.self, MapCommand.self, SimulateCommand.self,
        ]
    )
}
