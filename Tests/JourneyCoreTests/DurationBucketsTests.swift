import Foundation
import JourneyCore
import Testing

@Suite("Duration buckets")
struct DurationBucketsTests {
    /// The bounds `cjm.duration_bucket_bounds` computes, written again here.
    static func bounds(_ bucket: Int) -> (lower: Double, upper: Double) {
        bucket >= 0
            ? (pow(1.01, Double(bucket)) - 1, pow(1.01, Double(bucket + 1)) - 1)
            : (1 - pow(1.01, Double(-bucket)), 1 - pow(1.01, Double(-bucket - 1)))
    }

    /// Every duration lands in the bucket whose bounds hold it (up to rounding at the edge),
    /// buckets are ordered like the durations, and the bucket is narrow enough for the
    /// documented error of 1 % plus 0.01 s.
    @Test func bucketsHoldTheirDurationsInOrder() {
        var values: [Double] = [0, 1e-6, 0.009, 0.01, 1, 59.999999, 60, 3600, 86_400, 31_536_000, 315_360_000]
        var state: UInt64 = 42
        for _ in 0..<20_000 {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            let magnitude = pow(10, Double(state >> 11) / Double(1 << 53) * 9 - 1)  // 0.1 s … 10⁸ s
            values.append(state & 1 == 0 ? magnitude : -magnitude)
        }
        values += values.map { -$0 }
        for value in values {
            let bucket = DurationBuckets.bucket(seconds: value)
            let (lower, upper) = Self.bounds(bucket)
            let slack = 1e-9 * (1 + abs(value))
            #expect(
                lower - slack <= value && value < upper + slack, "\(value) in bucket \(bucket) [\(lower), \(upper))")
            #expect(upper - lower <= 0.01 * (1 + abs(value)) + slack)
        }
        let sorted = values.sorted()
        let buckets = sorted.map { DurationBuckets.bucket(seconds: $0) }
        #expect(buckets == buckets.sorted())
        #expect(DurationBuckets.bucket(TimeSpan(microseconds: 90_000_000)) == DurationBuckets.bucket(seconds: 90))
    }
}
