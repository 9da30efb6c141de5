import JourneyCore

extension ConfigReader {
    func readAlerts(_ field: Field?) -> AlertSettings {
        var settings = AlertSettings()
        let keys = ["window", "baseline", "min_decided", "z", "min_delta", "webhook"]
        guard let section = section(field, named: "alerts", knownKeys: keys) else { return settings }
        let window = duration(section["window"], positive: true)
        let baseline = duration(section["baseline"], positive: true)
        settings.window = window.or(settings.window)
        settings.baseline = baseline.or(settings.baseline)
        if let windowSpan = window.resolved(default: AlertSettings().window),
            let baselineSpan = baseline.resolved(default: AlertSettings().baseline),
            baselineSpan < windowSpan
        {
            let reason = "the baseline rate needs at least as much history as the window it is compared with"
            if let baselineField = section["baseline"] {
                report(
                    "the baseline (\(baselineSpan)) is shorter than the window (\(windowSpan)); \(reason), "
                        + "so make baseline at least \(windowSpan)", at: baselineField)
            } else if let windowField = section["window"] {
                report(
                    "the window (\(windowSpan)) is longer than the default baseline (24h); \(reason), "
                        + "so set baseline: to at least \(windowSpan) or shorten the window", at: windowField)
            }
        }
        settings.minDecided = integer(
            section["min_decided"], example: "50", range: 1...Int.max,
            rangeAdvice: "at least 1 decided instance is needed before an alert can fire; the default is 50"
        ).or(settings.minDecided)
        settings.z = decimal(
            section["z"], example: "3.0", isAcceptable: { $0 > 0 },
            rangeAdvice: "z must be greater than 0; the default is 3.0"
        ).or(settings.z)
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
        return settings
    }
}
