import JourneyCore

extension ConfigReader {
    /// Smallest and largest accepted `max_line_bytes`: below 256 bytes no realistic event
    /// fits; above 64 MiB one line could exhaust memory.
    static let lineBytesRange = 256...(64 << 20)

    func readIngest(_ field: Field?) -> IngestSettings {
        var settings = IngestSettings()
        let keys = [
            "max_line_bytes", "allowed_lateness", "max_future_skew", "batch_max_events", "batch_max_delay",
            "max_connections", "idle_timeout", "clock_skew_tolerance",
        ]
        guard let section = section(field, named: "ingest", knownKeys: keys) else { return settings }
        settings.maxLineBytes = integer(
            section["max_line_bytes"], example: "65536", range: Self.lineBytesRange,
            rangeAdvice: "use a size in bytes from 256 to 67108864 (64 MiB); the default is 65536"
        ).or(settings.maxLineBytes)
        settings.allowedLateness = duration(section["allowed_lateness"], positive: false)
            .or(settings.allowedLateness)
        settings.maxFutureSkew = duration(section["max_future_skew"], positive: false)
            .or(settings.maxFutureSkew)
        settings.batchMaxEvents = integer(
            section["batch_max_events"], example: "5000", range: 1...Int.max,
            rangeAdvice: "a batch holds at least 1 event; the default is 5000"
        ).or(settings.batchMaxEvents)
        settings.batchMaxDelay = duration(section["batch_max_delay"], positive: true)
            .or(settings.batchMaxDelay)
        settings.maxConnections = integer(
            section["max_connections"], example: "1024", range: 1...1_000_000,
            rangeAdvice: "allow 1 to 1000000 client connections at once; the default is 1024"
        ).or(settings.maxConnections)
        settings.idleTimeout = duration(section["idle_timeout"], positive: false)
            .or(settings.idleTimeout)
        settings.clockSkewTolerance = duration(section["clock_skew_tolerance"], positive: false)
            .or(settings.clockSkewTolerance)
        return settings
    }
}
