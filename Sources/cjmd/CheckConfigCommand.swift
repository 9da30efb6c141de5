import ArgumentParser
import DaemonSettings
import JourneyConfig

struct CheckConfigCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check-config", abstract: "Validate the configuration and list every problem.")

    @OptionGroup var options: ConfigOption

    func run() throws {
        let configuration = try CommandSupport.loadConfiguration(options.config)
        try CommandSupport.refuseWhatRunCannotDo(configuration, path: options.config)
        print("\(options.config): OK: \(configuration.logSummary)")
        print(configuration.alertSummary)
        print(configuration.retentionSummary)
    }
}
