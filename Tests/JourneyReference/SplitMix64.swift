/// A small seeded generator (SplitMix64) with its own range helpers, so that a seed gives the same
/// scenario on every platform and Swift version (the standard library's range sampling may change).
public struct SplitMix64: Sendable {
    private var state: UInt64

    /// A generator whose whole output is determined by `seed`.
    public init(seed: UInt64) { self.state = seed }

    /// The next 64 random bits.
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// A uniform value in the range (the modulo bias is below 2⁻³⁰ for the ranges used here).
    public mutating func int64(in range: ClosedRange<Int64>) -> Int64 {
        let span = UInt64(bitPattern: range.upperBound &- range.lowerBound) &+ 1
        if span == 0 { return Int64(bitPattern: next()) }  // the full 64-bit range
        return range.lowerBound &+ Int64(bitPattern: next() % span)
    }

    /// A uniform value in the range.
    public mutating func int(in range: ClosedRange<Int>) -> Int {
        Int(int64(in: Int64(range.lowerBound)...Int64(range.upperBound)))
    }

    /// A uniform value in [0, 1).
    public mutating func unit() -> Double { Double(next() >> 11) * 0x1p-53 }

    /// True with probability `probability`.
    public mutating func chance(_ probability: Double) -> Bool { unit() < probability }

    /// A uniform element of a non-empty array.
    public mutating func element<T>(of array: [T]) -> T {
        precondition(!array.isEmpty, "element(of:) needs a non-empty array")
        return array[int(in: 0...(array.count - 1))]
    }

    /// The array in a uniformly random order (Fisher–Yates).
    public mutating func shuffled<T>(_ array: [T]) -> [T] {
        var result = array
        guard result.count > 1 else { return result }
        for i in stride(from: result.count - 1, to: 0, by: -1) {
            result.swapAt(i, int(in: 0...i))
        }
        return result
    }

    /// Up to `count` distinct elements of the array, in random order.
    public mutating func sample<T>(_ array: [T], count: Int) -> [T] {
        Array(shuffled(array).prefix(count))
    }
}
