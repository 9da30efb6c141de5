import JourneyCore

extension ConfigReader {
    func readAlerts(_ field: Field?) -> AlertSettings {
        var settings = AlertSettings()
        let keys = [
            "window", "baseline", "min_decided", "false_alarms_per_month", "z", "min_delta", "webhook", "by_persona",
        ]
        guard let section = section(field, named: "alerts", knownKeys: keys) else { return settings }
        let window = duration(section["window"], positive: true)
        settings.window = window.or(settings.window)
        let baseline = readBaseline(section["baseline"])
        settings.baseline = baseline.or(settings.baseline)
        if let windowSpan = window.resolved(default: AlertSettings().window),
            let baselineValue = baseline.resolved(default: AlertSettings().baseline)
        {
            checkWindow(windowSpan, against: baselineValue, window: section["window"], baseline: section["baseline"])
        }
        settings.minDecided = integer(
            section["min_decided"], example: "50", range: 1...Int.max,
            rangeAdvice: "at least 1 decided instance is needed before an alert can fire; the default is 50"
        ).or(settings.minDecided)
        settings.falseAlarmsPerMonth = decimal(
            section["false_alarms_per_month"], example: "0.5", isAcceptable: { $0 > 0 && $0 <= 1000 },
            rangeAdvice: "false_alarms_per_month is how many false alarms per stage per month you accept, "
                + "greater than 0 and at most 1000; the default is 0.5"
        ).or(settings.falseAlarmsPerMonth)
        settings.z =
            decimal(
                section["z"], example: "3.0", isAcceptable: { $0 > 0 },
                rangeAdvice:
                    "z must be greater than 0; leave it out to derive the threshold from false_alarms_per_month",
                nullMeansAbsent: true
            ).value
        if let zField = section["z"], !zField.isNull, section["false_alarms_per_month"] != nil {
            report(
                "z and false_alarms_per_month both set the alert threshold; keep false_alarms_per_month "
                    + "(the threshold is derived from it) or z (the older normal-approximation rule), not both",
                at: zField)
        }
        settings.minDelta = decimal(
            section["min_delta"], example: "0.05", isAcceptable: { (0...1).contains($0) },
            rangeAdvice: "min_delta is a difference of rates, from 0 to 1; the default is 0.05"
        ).or(settings.minDelta)
        if let webhookField = section["webhook"],
            let webhook = text(webhookField, expecting: "an http(s) URL", nullMeansAbsent: true).value
        {
            switch ValueFormats.webURL(webhook) {
            case .success(let url): settings.webhook = url
            case .failure(let error): report(error.message, at: webhookField)
            }
        }
        settings.byPersona = boolean(section["by_persona"]).or(settings.byPersona)
        return settings
    }

    /// `baseline:` — a duration (the span just before the window), or `same_hour_<N>d` /
    /// `same_hour_<N>w` (the window's hours on each of the N days or weeks before).
    private func readBaseline(_ field: Field?) -> Parsed<AlertBaseline> {
        guard let field else { return .absent }
        if case .scalar(let scalar) = field.node, scalar.string.hasPrefix("same_hour_") {
            let spec = scalar.string.dropFirst("same_hour_".count)
            let advice =
                "write same_hour_<N>d (the same hours on each of the N days before, N from 1 to 28) "
                + "or same_hour_<N>w (the same time of week on each of the N weeks before, N from 1 to 8), "
                + "for example same_hour_7d"
            guard let unit = spec.last, unit == "d" || unit == "w", let count = Int(spec.dropLast()) else {
                report("\(Self.quoted(scalar.string)) is not a seasonal baseline; \(advice)", at: field)
                return .invalid
            }
            if unit == "d", (1...28).contains(count) { return .valid(.sameHourDays(count)) }
            if unit == "w", (1...8).contains(count) { return .valid(.sameHourWeeks(count)) }
            report("\(Self.quoted(scalar.string)) is out of range; \(advice)", at: field)
            return .invalid
        }
        switch duration(field, positive: true) {
        case .absent: return .absent
        case .invalid: return .invalid
        case .valid(let span): return .valid(.preceding(span))
        }
    }

    private func checkWindow(
        _ window: TimeSpan, against baseline: AlertBaseline, window windowField: Field?,
        baseline baselineField: Field?
    ) {
        switch baseline {
        case .preceding(let span):
            guard span < window else { return }
            let reason = "the baseline rate needs at least as much history as the window it is compared with"
            if let baselineField {
                report(
                    "the baseline (\(span)) is shorter than the window (\(window)); \(reason), "
                        + "so make baseline at least \(window)", at: baselineField)
            } else if let windowField {
                report(
                    "the window (\(window)) is longer than the default baseline (24h); \(reason), "
                        + "so set baseline: to at least \(window) or shorten the window", at: windowField)
            }
        case .sameHourDays, .sameHourWeeks:
            guard let season = baseline.seasonMinutes, window.microseconds > season * 60_000_000,
                let field = windowField ?? baselineField
            else { return }
            let period = season == 1440 ? "a day" : "a week"
            report(
                "the window (\(window)) is longer than \(period), the period \(baseline) repeats with; "
                    + "shorten the window to at most \(TimeSpan(microseconds: season * 60_000_000))",
                at: field)
        }
    }
}
