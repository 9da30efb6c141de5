import Foundation
import JourneyCore
import JourneySimulator

/// One simulated stage: instances arrive, and each one is decided later — it advances after
/// a while, or it goes silent and is given up `abandonAfter` after its last touch — dated
/// the way the engine dates decisions (docs/alerts.md): an advance when it happens, a
/// give-up when the customer fell silent, known only `abandonAfter` later.
public struct StageTraffic: Sendable {
    public var shape: TrafficShape
    /// The share of arriving instances that give up.
    public var giveUpRate: Double
    /// Silence after which an instance is given up.
    public var abandonAfter: TimeSpan = .minutes(30)
    /// Mean time from arriving at the stage to the next stage.
    public var meanTimeToAdvance: TimeSpan = .minutes(10)
    /// Mean time from arriving to the last touch of an instance that gives up.
    public var meanActivity: TimeSpan = .minutes(5)
    /// Instances arriving in [start, start + duration) give up at `rate` instead.
    public var spike: Spike?
    /// Added to the give-up rate every night from 01:00 to 05:00: a change of traffic mix
    /// (other visitors at night) that repeats daily and that the operator calls normal.
    public var nightlyRise: Double = 0

    public struct Spike: Sendable, Equatable {
        public var start: EventTime
        public var duration: TimeSpan
        public var rate: Double
        public init(start: EventTime, duration: TimeSpan, rate: Double) {
            self.start = start
            self.duration = duration
            self.rate = rate
        }
    }

    public init(shape: TrafficShape, giveUpRate: Double, spike: Spike? = nil) {
        self.shape = shape
        self.giveUpRate = giveUpRate
        self.spike = spike
    }

    /// The decisions per minute of [firstMinute, firstMinute + minutes): index i is minute
    /// firstMinute + i, by the minute each decision is dated. Instances arrive from
    /// `firstMinute` on; decisions dated after the last minute are dropped.
    public func decisions(firstMinute: Int64, minutes: Int, random: inout SplitMix64) -> [DecisionCounts] {
        var counts = [DecisionCounts](repeating: DecisionCounts(), count: minutes)
        let minute = 60_000_000.0
        let spikeStart = spike.map { Double($0.start.microseconds) } ?? 0
        let spikeEnd = spike.map { Double(($0.start + $0.duration).microseconds) } ?? 0
        let spikeRate = spike?.rate ?? giveUpRate
        let origin = Double(firstMinute) * minute
        for offset in 0..<minutes {
            let arriving = Self.poisson(mean: shape.arrivals(inMinute: firstMinute + Int64(offset)), random: &random)
            for _ in 0..<arriving {
                let arrival = origin + (Double(offset) + random.unit()) * minute
                var rate = arrival >= spikeStart && arrival < spikeEnd ? spikeRate : giveUpRate
                if nightlyRise != 0 {
                    let hour = (Int64(arrival / minute) % 1440) / 60
                    if hour >= 1 && hour < 5 { rate = min(1, rate + nightlyRise) }
                }
                let decided: Double
                let abandoned = random.chance(rate)
                if abandoned {
                    decided = arrival + random.exponential(mean: Double(meanActivity.microseconds))
                } else {
                    decided = arrival + random.exponential(mean: Double(meanTimeToAdvance.microseconds))
                }
                let index = Int((decided - origin) / minute)
                guard index < minutes else { continue }
                if abandoned { counts[index].abandoned += 1 } else { counts[index].advanced += 1 }
            }
        }
        return counts
    }

    /// A Poisson draw: Knuth's product of uniforms, in pieces of mean ≤ 20 (sums of
    /// independent Poisson counts are Poisson) so that large means neither underflow nor
    /// need an approximation.
    static func poisson(mean: Double, random: inout SplitMix64) -> Int {
        var remaining = mean
        var total = 0
        while remaining > 0 {
            let piece = min(remaining, 20)
            remaining -= piece
            let limit = exp(-piece)
            var product = random.unit()
            while product > limit {
                total += 1
                product *= random.unit()
            }
        }
        return total
    }
}
