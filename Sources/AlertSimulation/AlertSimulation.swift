import JourneyCore
import JourneySimulator

/// The alert simulation of docs/alerts.md: steady traffic at a volume, to count false
/// alarms, and spikes of given sizes and lengths, to measure detection and its delay —
/// through the daemon's own ``DropOffDetector`` and settings.
public struct AlertSimulation: Sendable {
    public var settings: AlertSettings
    /// The steady give-up rates of the simulated stages (one judged stage each).
    public var stageRates: [Double] = [0.2, 0.35, 0.5, 0.65]
    /// Traffic cycles (the volume is set per run).
    public var dailyAmplitude: Double = 0.6
    public var weekendFactor: Double = 0.6
    /// Give-up rates rise by this much every night from 01:00 to 05:00 (``StageTraffic/nightlyRise``).
    public var nightlyRise: Double = 0
    /// Every stage's abandon_after.
    public var abandonAfter: TimeSpan = .minutes(30)
    /// When simulated time starts: a Monday, 00:00 UTC.
    public var start = EventTime(seconds: 1_767_571_200)  // 2026-01-05T00:00:00Z

    /// When set, a Bernoulli CUSUM designed for this rise of the give-up rate runs beside
    /// the detector on the same decisions, with the same budget (``BernoulliCUSUM``).
    public var cusumShift: Double? = nil

    public init(settings: AlertSettings) { self.settings = settings }

    private var cusum: BernoulliCUSUM? {
        cusumShift.map {
            BernoulliCUSUM(
                shift: $0, falseAlarmsPerMonth: settings.falseAlarmsPerMonth, baselineMinutes: 1440,
                quietMinutes: windowMinutes, minDecided: settings.minDecided)
        }
    }

    private var windowMinutes: Int { Int(max(1, (settings.window.microseconds + 59_999_999) / 60_000_000)) }

    // MARK: Steady traffic

    /// False alarms of one steady run.
    public struct SteadyResult: Sendable {
        public var decidedPerHour: Double
        public var days: Int
        public var stages: Int
        /// Episodes fired per stage (every one is false: nothing changes).
        public var falseAlarmsPerStage: [Int]
        /// Decided instances per window, averaged (for the table: volume per window).
        public var meanDecidedPerWindow: Double
        /// The alerts themselves.
        public var alerts: [DropOffAlert]
        /// False alarms per stage of the CUSUM run beside it, when one ran.
        public var cusumFalseAlarmsPerStage: [Int]? = nil

        public var falseAlarms: Int { falseAlarmsPerStage.reduce(0, +) }
        /// False alarms per stage per 30 days.
        public var perStageMonth: Double { Double(falseAlarms) / (Double(stages) * Double(days) / 30) }
    }

    /// Simulates `days` judged days of steady traffic (after the warm-up the detector needs)
    /// at `decidedPerHour` per stage and counts the alerts.
    public func steady(decidedPerHour: Double, days: Int, seed: UInt64) -> SteadyResult {
        var random = SplitMix64(seed: seed)
        let warmUp = warmUpMinutes
        let minutes = warmUp + days * 1440
        let first = start.minuteIndex
        let traffic = stageRates.map { rate in
            var traffic = StageTraffic(shape: shape(decidedPerHour), giveUpRate: rate)
            traffic.abandonAfter = abandonAfter
            traffic.nightlyRise = nightlyRise
            return traffic.decisions(firstMinute: first, minutes: minutes, random: &random)
        }
        let fired = run(traffic, firstMinute: first)
        var perStage = [Int](repeating: 0, count: stageRates.count)
        let counted = fired.filter { $0.firedAt.minuteIndex >= first + Int64(warmUp) }
        for alert in counted { perStage[alert.stageIndex] += 1 }
        var result = SteadyResult(
            decidedPerHour: decidedPerHour, days: days, stages: stageRates.count, falseAlarmsPerStage: perStage,
            meanDecidedPerWindow: decidedPerHour * Double(windowMinutes) / 60, alerts: counted)
        if let cusum {
            result.cusumFalseAlarmsPerStage = traffic.map { cusum.alarms($0, judgedFrom: warmUp).count }
        }
        return result
    }

    // MARK: Spikes

    /// A change of one stage's give-up rate, for a while.
    public struct SpikeScenario: Sendable {
        /// The stage's volume when the spike starts (the daily and weekly cycles go on around it).
        public var decidedPerHour: Double
        public var baseRate: Double
        public var spikeRate: Double
        public var duration: TimeSpan

        public init(decidedPerHour: Double, baseRate: Double, spikeRate: Double, duration: TimeSpan) {
            self.decidedPerHour = decidedPerHour
            self.baseRate = baseRate
            self.spikeRate = spikeRate
            self.duration = duration
        }
    }

    /// Detection of one scenario over several runs.
    public struct SpikeResult: Sendable {
        public var scenario: SpikeScenario
        public var runs: Int
        /// Per detected run: fired_at minus the moment the first give-ups of the spike become
        /// visible (its start + abandon_after). Negative when the missing advances showed first.
        public var delays: [TimeSpan]
        /// The same for the CUSUM run beside it, when one ran.
        public var cusumDelays: [TimeSpan]? = nil

        public var detected: Int { delays.count }
        /// The delay below which half (`fraction` 0.5) of the detected runs fired.
        public func delay(quantile fraction: Double) -> TimeSpan? {
            guard !delays.isEmpty else { return nil }
            let sorted = delays.sorted()
            return sorted[min(sorted.count - 1, Int((Double(sorted.count - 1) * fraction).rounded(.up)))]
        }
    }

    /// Runs `scenario` `runs` times, each spike starting at a random time of day after the
    /// warm-up; a run detects it when an alert fires between its start and a window after its
    /// last give-ups became visible.
    public func spike(_ scenario: SpikeScenario, runs: Int, seed: UInt64) -> SpikeResult {
        var delays: [TimeSpan] = []
        var cusumDelays: [TimeSpan] = []
        for attempt in 0..<runs {
            var random = SplitMix64(seed: seed &+ UInt64(attempt) &* 0x9E37_79B9)
            let first = start.minuteIndex
            let spikeStart = EventTime(minuteIndex: first + Int64(warmUpMinutes) + Int64(random.int(in: 0...1439)))
            let lastVisible = spikeStart + scenario.duration + abandonAfter + .hours(1)
            let end = lastVisible + settings.window + .hours(1)
            let minutes = Int(end.minuteIndex - first)
            // Scaled so that the volume when the spike starts is the scenario's.
            let relative = shape(60).arrivals(inMinute: spikeStart.minuteIndex)
            var traffic = StageTraffic(shape: shape(scenario.decidedPerHour / relative), giveUpRate: scenario.baseRate)
            traffic.abandonAfter = abandonAfter
            traffic.spike = .init(start: spikeStart, duration: scenario.duration, rate: scenario.spikeRate)
            let decisions = traffic.decisions(firstMinute: first, minutes: minutes, random: &random)
            let fired = run(
                [decisions], firstMinute: first, until: (lastVisible + settings.window).minuteIndex - first)
            if let hit = fired.first(where: { $0.firedAt >= spikeStart }) {
                delays.append(hit.firedAt - (spikeStart + abandonAfter))
            }
            if let cusum {
                // Index i judges dated minute i, at evaluation i + abandon_after.
                let offset = Int(spikeStart.minuteIndex - first)
                let limit = Int((lastVisible + settings.window).minuteIndex - first)
                if let hit = cusum.alarms(decisions, judgedFrom: warmUpMinutes).first(where: {
                    $0 >= offset && $0 < limit
                }) {
                    cusumDelays.append(.minutes(Int64(hit - offset)))
                }
            }
        }
        return SpikeResult(
            scenario: scenario, runs: runs, delays: delays, cusumDelays: cusum == nil ? nil : cusumDelays)
    }

    // MARK: Running the detector

    /// The minutes of history simulated before anything is judged or counted.
    public var warmUpMinutes: Int {
        let lookBack =
            -DropOffDetector.oldestMinuteNeeded(
                evaluatedThrough: EventTime(minuteIndex: 0), settings: settings, catalog: JourneyCatalog(journeys: []))
        return Int(lookBack + (abandonAfter.microseconds + 59_999_999) / 60_000_000) + 60
    }

    private func shape(_ decidedPerHour: Double) -> TrafficShape {
        TrafficShape(decidedPerHour: decidedPerHour, dailyAmplitude: dailyAmplitude, weekendFactor: weekendFactor)
    }

    /// Feeds per-minute decisions of each stage to a detector minute by minute, evaluating
    /// after each, as the engine does: an advance in its minute, a give-up when its silence
    /// has lasted `abandon_after`; returns the alerts that fired, in order.
    private func run(_ stages: [[DecisionCounts]], firstMinute: Int64, until limit: Int64? = nil) -> [DropOffAlert] {
        let definitions = (0...stages.count).map {
            StageDefinition(name: "s\($0)", events: [EventPattern("e\($0)")], abandonAfter: abandonAfter)
        }
        let lag = Int((abandonAfter.microseconds + 59_999_999) / 60_000_000)
        let catalog = JourneyCatalog(journeys: [
            JourneyDefinition(name: "simulated", conversionWindow: .days(7), stages: definitions)
        ])
        var detector = DropOffDetector(catalog: catalog, settings: settings)
        var fired: [DropOffAlert] = []
        let minutes = min(stages.map(\.count).min() ?? 0, Int(limit ?? Int64.max))
        for offset in 0..<minutes {
            let minute = firstMinute + Int64(offset)
            for (stage, counts) in stages.enumerated() {
                detector.record(
                    DecisionCounts(advanced: counts[offset].advanced), journey: 0, stage: stage, minute: minute)
                if offset >= lag {
                    detector.record(
                        DecisionCounts(abandoned: counts[offset - lag].abandoned), journey: 0, stage: stage,
                        minute: minute - Int64(lag))
                }
            }
            detector.evaluate(through: EventTime(minuteIndex: minute + 1))
            for transition in detector.takeTransitions() {
                if case .fired(let alert) = transition { fired.append(alert) }
            }
        }
        return fired
    }
}
