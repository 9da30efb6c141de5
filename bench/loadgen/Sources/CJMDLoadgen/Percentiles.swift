/// Nearest-rank percentiles, as the benchmark reports them everywhere.
extension Array where Element == Double {
    /// The q-quantile (0 < q ≤ 1) by nearest rank; nil when empty.
    func nearestRank(_ q: Double) -> Double? {
        guard !isEmpty else { return nil }
        let sorted = self.sorted()
        let rank = Int((q * Double(sorted.count)).rounded(.up))
        return sorted[Swift.min(Swift.max(rank, 1), sorted.count) - 1]
    }
}
