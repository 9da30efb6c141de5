/// A UTC calendar date and time of day, converted to and from microseconds since the Unix
/// epoch with proleptic Gregorian arithmetic (as PostgreSQL does). Year 0 is 1 BC.
struct CivilTime: Equatable {
    var year: Int64
    var month: Int64
    var day: Int64
    var hour: Int64
    var minute: Int64
    var second: Int64
    var microsecond: Int64

    static let microsecondsPerDay: Int64 = 86_400_000_000

    init(year: Int64, month: Int64, day: Int64, hour: Int64, minute: Int64, second: Int64, microsecond: Int64) {
        (self.year, self.month, self.day) = (year, month, day)
        (self.hour, self.minute, self.second, self.microsecond) = (hour, minute, second, microsecond)
    }

    init(microsecondsSinceEpoch micros: Int64) {
        // Floor division so times before 1970 land on the right day.
        var days = micros / Self.microsecondsPerDay
        var timeOfDay = micros % Self.microsecondsPerDay
        if timeOfDay < 0 {
            days -= 1
            timeOfDay += Self.microsecondsPerDay
        }
        (year, month, day) = Self.civil(fromDaysSinceEpoch: days)
        microsecond = timeOfDay % 1_000_000
        let seconds = timeOfDay / 1_000_000
        second = seconds % 60
        minute = seconds / 60 % 60
        hour = seconds / 3600
    }

    /// Microseconds since the epoch, or nil when out of Int64 range.
    var microsecondsSinceEpoch: Int64? {
        let days = Self.daysSinceEpoch(year: year, month: month, day: day)
        let seconds = ((hour * 60) + minute) * 60 + second
        let (dayMicros, overflow1) = days.multipliedReportingOverflow(by: Self.microsecondsPerDay)
        let (total, overflow2) = dayMicros.addingReportingOverflow(seconds * 1_000_000 + microsecond)
        return overflow1 || overflow2 ? nil : total
    }

    // Howard Hinnant's days_from_civil / civil_from_days, valid far beyond PostgreSQL's range.

    static func daysSinceEpoch(year: Int64, month: Int64, day: Int64) -> Int64 {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yearOfEra = y - era * 400
        let dayOfYear = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }

    static func civil(fromDaysSinceEpoch days: Int64) -> (year: Int64, month: Int64, day: Int64) {
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let shiftedMonth = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * shiftedMonth + 2) / 5 + 1
        let month = shiftedMonth < 10 ? shiftedMonth + 3 : shiftedMonth - 9
        return (yearOfEra + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }
}
