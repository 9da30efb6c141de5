import AlertSimulation
import ArgumentParser
import JourneyCore

/// `cjmd-alertsim`: how often the drop-off detector raises false alarms on steady traffic,
/// and how fast it catches spikes, for the default settings or the ones given
/// (docs/alerts.md publishes its output).
@main
struct AlertSimCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cjmd-alertsim",
        abstract: "Simulate steady traffic and drop-off spikes through cjmd's alert detector.",
        discussion: """
            Steady traffic at each volume (decided instances per window) with daily and weekly \
            cycles counts false alarms per stage-month; spikes of several sizes and lengths measure \
            detection and its delay after the spike's give-ups become visible. Settings default \
            to cjmd's; the options change them as the alerts: section would.
            """)

    @Option(help: "Judged days of steady traffic per volume.") var days = 90
    @Option(help: "Steady volumes, decided instances per window, comma-separated.")
    var volumes = "50,200,600,2000,5000"
    @Option(help: "Runs per spike scenario.") var runs = 20
    @Option(help: "Seed of the generator.") var seed: UInt64 = 1
    @Option(help: "alerts.window (a duration).") var window: String?
    @Option(help: "alerts.baseline (a duration, same_hour_<N>d or same_hour_<N>w).") var baseline: String?
    @Option(help: "alerts.false_alarms_per_month.") var falseAlarmsPerMonth: Double?
    @Option(help: "alerts.z (the older rule instead of the budget).") var z: Double?
    @Option(help: "alerts.min_delta.") var minDelta: Double?
    @Option(help: "alerts.min_decided.") var minDecided: Int?
    @Flag(help: "Skip the steady runs.") var noSteady = false
    @Flag(help: "Skip the spike runs.") var noSpikes = false
    @Flag(help: "List every false alarm of the steady runs.") var listAlarms = false
    @Option(help: "Steady runs: give-up rates rise by this much every night, 01:00 to 05:00 (e.g. 0.1).")
    var nightlyRise: Double = 0
    @Option(help: "Also run a Bernoulli CUSUM designed for this rise of the give-up rate (e.g. 0.1), for comparison.")
    var compareCusum: Double?

    func run() throws {
        let settings = try alertSettings()
        var simulation = AlertSimulation(settings: settings)
        simulation.cusumShift = compareCusum
        simulation.nightlyRise = nightlyRise
        var steadyResults: [AlertSimulation.SteadyResult] = []
        var spikeResults: [AlertSimulation.SpikeResult] = []
        let windowMinutes = Double(max(1, (settings.window.microseconds + 59_999_999) / 60_000_000))
        print(
            "settings: window \(settings.window), baseline \(settings.baseline), min_decided \(settings.minDecided), "
                + "min_delta \(settings.minDelta), "
                + (settings.z.map { "z \($0)" }
                    ?? "false_alarms_per_month \(settings.falseAlarmsPerMonth) → p ≤ \(settings.level ?? 0) per evaluation")
        )
        if !noSteady {
            var results: [AlertSimulation.SteadyResult] = []
            for (index, perWindow) in try parsedVolumes().enumerated() {
                results.append(
                    simulation.steady(
                        decidedPerHour: perWindow * 60 / windowMinutes, days: days, seed: seed &+ UInt64(index)))
            }
            print(
                "\nSteady traffic, \(days) days per volume, \(simulation.stageRates.count) stages "
                    + "(give-up rates \(simulation.stageRates.map { SimulationReport.percent($0) }.joined(separator: ", "))), "
                    + "daily cycle ±\(SimulationReport.percent(simulation.dailyAmplitude)), weekends at "
                    + "\(SimulationReport.percent(simulation.weekendFactor))"
                    + (nightlyRise == 0
                        ? "" : ", give-up rates \(SimulationReport.percent(nightlyRise)) higher 01:00–05:00")
                    + ":\n")
            print(SimulationReport.steadyTable(results, budget: settings.z == nil ? settings.falseAlarmsPerMonth : nil))
            steadyResults = results
            if listAlarms {
                for result in results {
                    for alert in result.alerts {
                        print(
                            "\(SimulationReport.number(result.meanDecidedPerWindow))/window stage \(alert.stageIndex) "
                                + "fired \(RFC3339.format(alert.firedAt)) decided \(alert.decided) rate \(alert.rate) "
                                + "baseline \(alert.baselineRate) (\(alert.baselineDecided)) p \(alert.pValue ?? -1)")
                    }
                }
            }
        }
        if !noSpikes {
            let results = Self.spikeScenarios.enumerated().map { index, scenario in
                simulation.spike(scenario, runs: runs, seed: seed &+ 1000 &+ UInt64(index))
            }
            print("\nSpikes, \(runs) runs each (delay: fired_at − the spike's start − abandon_after 30m):\n")
            print(SimulationReport.spikeTable(results))
            spikeResults = results
        }
        if let compareCusum {
            print("\nBernoulli CUSUM beside it (shift \(compareCusum), same budget, same decisions):\n")
            print(SimulationReport.cusumTables(steady: steadyResults, spikes: spikeResults))
        }
    }

    /// The spikes of docs/alerts.md's table: the acceptance cases first.
    static let spikeScenarios: [AlertSimulation.SpikeScenario] = [
        .init(decidedPerHour: 600, baseRate: 0.2, spikeRate: 0.9, duration: .hours(3)),
        .init(decidedPerHour: 200, baseRate: 0.2, spikeRate: 0.35, duration: .hours(1)),
        .init(decidedPerHour: 300, baseRate: 0.2, spikeRate: 0.35, duration: .hours(1)),
        .init(decidedPerHour: 600, baseRate: 0.2, spikeRate: 0.35, duration: .hours(1)),
        .init(decidedPerHour: 2000, baseRate: 0.2, spikeRate: 0.35, duration: .hours(1)),
        .init(decidedPerHour: 200, baseRate: 0.2, spikeRate: 0.6, duration: .minutes(30)),
        .init(decidedPerHour: 200, baseRate: 0.2, spikeRate: 0.3, duration: .hours(4)),
        .init(decidedPerHour: 2000, baseRate: 0.2, spikeRate: 0.26, duration: .hours(6)),
        .init(decidedPerHour: 50, baseRate: 0.2, spikeRate: 0.6, duration: .hours(2)),
        .init(decidedPerHour: 600, baseRate: 0.5, spikeRate: 0.65, duration: .hours(1)),
    ]

    private func parsedVolumes() throws -> [Double] {
        try volumes.split(separator: ",").map {
            guard let value = Double($0.trimmingCharacters(in: .whitespaces)), value > 0 else {
                throw ValidationError("--volumes takes positive numbers separated by commas, such as 50,600,5000")
            }
            return value
        }
    }

    private func alertSettings() throws -> AlertSettings {
        var settings = AlertSettings()
        if let window {
            guard let span = TimeSpan(parsing: window), span > .zero else {
                throw ValidationError("--window takes a duration such as 15m or 1h")
            }
            settings.window = span
        }
        if let baseline {
            if baseline.hasPrefix("same_hour_"), let count = Int(baseline.dropFirst(10).dropLast()) {
                settings.baseline = baseline.hasSuffix("w") ? .sameHourWeeks(count) : .sameHourDays(count)
            } else if let span = TimeSpan(parsing: baseline), span > .zero {
                settings.baseline = .preceding(span)
            } else {
                throw ValidationError("--baseline takes a duration such as 24h, or same_hour_7d / same_hour_4w")
            }
        }
        if let falseAlarmsPerMonth { settings.falseAlarmsPerMonth = falseAlarmsPerMonth }
        settings.z = z
        if let minDelta { settings.minDelta = minDelta }
        if let minDecided { settings.minDecided = minDecided }
        return settings
    }
}
