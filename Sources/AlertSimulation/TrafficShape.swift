import Foundation
import JourneyCore

/// How many instances reach a stage per minute over a simulated week: a mean, a daily cycle
/// and quieter weekends. The mean over a whole week is exactly `decidedPerHour / 60`.
public struct TrafficShape: Sendable {
    /// Decided instances per hour, averaged over a week.
    public var decidedPerHour: Double
    /// Relative amplitude of the daily cycle: 0.6 means from 40 % to 160 % of the day's mean
    /// (busiest at 18:00, quietest at 06:00).
    public var dailyAmplitude: Double = 0.6
    /// A weekend day's volume relative to a weekday's.
    public var weekendFactor: Double = 0.6

    public init(decidedPerHour: Double, dailyAmplitude: Double = 0.6, weekendFactor: Double = 0.6) {
        self.decidedPerHour = decidedPerHour
        self.dailyAmplitude = dailyAmplitude
        self.weekendFactor = weekendFactor
    }

    /// Expected arrivals in the minute `minute` (minutes since the epoch, which began on a
    /// Thursday: days 2 and 3 of each week counted from it are the weekend).
    public func arrivals(inMinute minute: Int64) -> Double {
        let minuteOfDay = Double(((minute % 1440) + 1440) % 1440)
        let daily = 1 + dailyAmplitude * sin(2 * Double.pi * (minuteOfDay - 720) / 1440)
        let dayOfWeek = ((minute / 1440) % 7 + 7) % 7
        let weekday = 7 / (5 + 2 * weekendFactor)
        let weekly = dayOfWeek == 2 || dayOfWeek == 3 ? weekday * weekendFactor : weekday
        return decidedPerHour / 60 * daily * weekly
    }
}
