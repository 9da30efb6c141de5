import ArgumentParser
import JourneyStore

struct MigrateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "migrate", abstract: "Apply the database schema (idempotent).")

    @OptionGroup var options: ConfigOption

    func run() throws {
        let configuration = try CommandSupport.loadConfiguration(options.config)
        let connection = try CommandSupport.connect(configuration, configPath: options.config)
        do {
            let applied = try Migrator.migrate(connection)
            let version = try Migrator.currentVersion(connection) ?? 0
            print(
                applied.isEmpty
                    ? "schema cjm is up to date (version \(version))"
                    : "schema cjm migrated to version \(version) (applied \(applied.map(String.init).joined(separator: ", ")))"
            )
        } catch {
            throw CommandSupport.databaseFailure(error, doing: "migration")
        }
    }
}
