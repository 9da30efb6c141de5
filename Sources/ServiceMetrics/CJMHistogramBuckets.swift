/// Bucket boundaries of cjmd's histograms. Changing them changes the series names
/// (`le` labels) that dashboards query, so they are part of the metrics contract.
public enum CJMHistogramBuckets {
    /// `cjmd_batch_commit_seconds`: 1 ms to 10 s in 1–2.5–5 steps. A healthy local commit
    /// takes a few milliseconds; seconds mean PostgreSQL is struggling.
    public static let commitDuration: [Duration] = [
        .milliseconds(1), .microseconds(2500), .milliseconds(5),
        .milliseconds(10), .milliseconds(25), .milliseconds(50),
        .milliseconds(100), .milliseconds(250), .milliseconds(500),
        .seconds(1), .milliseconds(2500), .seconds(5), .seconds(10),
    ]

    /// `cjmd_batch_events`: from single events (quiet periods) up past the default
    /// `batch_max_events` of 5000, so a full batch lands in its own bucket.
    public static let batchEvents: [Double] = [1, 10, 50, 100, 250, 500, 1000, 2500, 5000, 10000]
}
