import JourneyCore

/// The simulation's results as the Markdown tables of docs/alerts.md.
public enum SimulationReport {
    public static func steadyTable(_ results: [AlertSimulation.SteadyResult], budget: Double?) -> String {
        var lines = [
            "| decided per window | stage-months | false alarms | per stage-month | most at one stage | budget |",
            "|---:|---:|---:|---:|---:|---:|",
        ]
        for result in results {
            let stageMonths = Double(result.stages) * Double(result.days) / 30
            lines.append(
                "| \(number(result.meanDecidedPerWindow)) | \(fixed(stageMonths, 1)) | \(result.falseAlarms) | "
                    + "\(fixed(result.perStageMonth, 3)) | \(result.falseAlarmsPerStage.max() ?? 0) in \(result.days) d | "
                    + "\(budget.map { fixed($0, 2) } ?? "z rule") |")
        }
        return lines.joined(separator: "\n")
    }

    /// The CUSUM run beside the detector: false alarms per volume and detection per spike.
    public static func cusumTables(steady: [AlertSimulation.SteadyResult], spikes: [AlertSimulation.SpikeResult])
        -> String
    {
        var lines = ["| decided per window | false alarms per stage-month | most at one stage |", "|---:|---:|---:|"]
        for result in steady {
            guard let perStage = result.cusumFalseAlarmsPerStage else { continue }
            let perMonth = Double(perStage.reduce(0, +)) / (Double(result.stages) * Double(result.days) / 30)
            lines.append(
                "| \(number(result.meanDecidedPerWindow)) | \(fixed(perMonth, 3)) | \(perStage.max() ?? 0) in \(result.days) d |"
            )
        }
        lines += [
            "", "| decided per hour | give-up rate | for | detected | median delay |", "|---:|---|---:|---:|---:|",
        ]
        for result in spikes {
            guard let delays = result.cusumDelays else { continue }
            let s = result.scenario
            let median = AlertSimulation.SpikeResult(scenario: s, runs: result.runs, delays: delays).delay(
                quantile: 0.5)
            lines.append(
                "| \(number(s.decidedPerHour)) | \(percent(s.baseRate)) → \(percent(s.spikeRate)) | \(s.duration) | "
                    + "\(delays.count) of \(result.runs) | \(minutes(median)) |")
        }
        return lines.joined(separator: "\n")
    }

    public static func spikeTable(_ results: [AlertSimulation.SpikeResult]) -> String {
        var lines = [
            "| decided per hour | give-up rate | for | detected | median delay | 90th percentile delay |",
            "|---:|---|---:|---:|---:|---:|",
        ]
        for result in results {
            let s = result.scenario
            lines.append(
                "| \(number(s.decidedPerHour)) | \(percent(s.baseRate)) → \(percent(s.spikeRate)) | \(s.duration) | "
                    + "\(result.detected) of \(result.runs) | \(minutes(result.delay(quantile: 0.5))) | "
                    + "\(minutes(result.delay(quantile: 0.9))) |")
        }
        return lines.joined(separator: "\n")
    }

    static func minutes(_ span: TimeSpan?) -> String {
        guard let span else { return "–" }
        let value = Double(span.microseconds) / 60_000_000
        return "\(fixed(value, 0)) min"
    }

    /// `0.2` → `20 %`.
    public static func percent(_ rate: Double) -> String { "\(fixed(rate * 100, 0)) %" }

    /// A whole number as such, anything else with one decimal.
    public static func number(_ value: Double) -> String {
        value == value.rounded() ? String(Int(value)) : fixed(value, 1)
    }

    static func fixed(_ value: Double, _ decimals: Int) -> String {
        var scale = 1.0
        for _ in 0..<decimals { scale *= 10 }
        let units = Int64((abs(value) * scale).rounded())
        let sign = value < 0 && units != 0 ? "-" : ""
        guard decimals > 0 else { return sign + String(units) }
        let divisor = Int64(scale)
        let fraction = String(units % divisor)
        return "\(sign)\(units / divisor).\(String(repeating: "0", count: decimals - fraction.count))\(fraction)"
    }
}
