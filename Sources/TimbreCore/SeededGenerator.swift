import Foundation

/// SplitMix64: tiny, fast and fully specified, so a split made with seed S is the same on every
/// platform and Swift version (the standard library's generators and shuffle promise neither).
public struct SeededGenerator: RandomNumberGenerator, Sendable {
    private var state: UInt64

    public init(seed: UInt64) { state = seed }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Uniform in 0..<bound (Lemire's multiply-shift; the tiny bias is irrelevant for shuffling).
    public mutating func below(_ bound: Int) -> Int {
        Int((UInt64(bound).multipliedFullWidth(by: next())).high)
    }

    /// Uniform in [0, 1).
    public mutating func unit() -> Double { Double(next() >> 11) * 0x1.0p-53 }

    /// Standard normal by Box–Muller (one of the pair; the clamp keeps log finite when unit() is 0).
    public mutating func gaussian() -> Double {
        let u1 = max(unit(), 1e-300), u2 = unit()
        return (-2 * log(u1)).squareRoot() * cos(2 * .pi * u2)
    }

    /// Fisher–Yates with this generator's own `below`, so the permutation is pinned down.
    public mutating func shuffle<C: MutableCollection & RandomAccessCollection>(_ c: inout C) where C.Index == Int {
        var i = c.count - 1
        while i > 0 {
            let j = below(i + 1)
            c.swapAt(c.startIndex + i, c.startIndex + j)
            i -= 1
        }
    }
}
