/// A probability as people read it in an alert or a settings line: two decimals from 0.01
/// up (`0.25`), two significant digits below (`1.2e-05`). Written out by hand rather than
/// with Foundation's formatters so that it reads the same on every host, whatever its locale.
public enum ProbabilityText {
    public static func format(_ value: Double) -> String {
        guard value.isFinite, value > 0 else { return value == 0 ? "0" : "\(value)" }
        if value >= 0.01 {
            let hundredths = Int64((value * 100).rounded())
            let fraction = hundredths % 100
            return "\(hundredths / 100).\(fraction < 10 ? "0" : "")\(fraction)"
        }
        var magnitude = 0
        var mantissa = value
        while mantissa < 1 {
            mantissa *= 10
            magnitude += 1
        }
        var tenths = Int64((mantissa * 10).rounded())
        if tenths == 100 {  // 9.96e-06 reads 1.0e-05, not 10.0e-06
            tenths = 10
            magnitude -= 1
        }
        return "\(tenths / 10).\(tenths % 10)e-\(magnitude < 10 ? "0" : "")\(magnitude)"
    }
}
