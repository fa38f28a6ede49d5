import Foundation
import TimbreCore

/// A generated rating catalogue with MovieLens-like skew, for scale benchmarks: item popularity
/// follows a Zipf law (a few blockbusters, a long tail), user activity is log-normal (most users
/// rate a little, a few rate a lot), and ratings are a baseline μ + b_u + b_i plus noise on 1–5.
public struct SyntheticCatalog: Sendable {
    public var users: Int
    public var items: Int
    public var ratings: Int
    public var seed: UInt64
    public var zipfExponent = 0.9
    public var activitySpread = 1.1

    public init(users: Int, items: Int, ratings: Int, seed: UInt64) {
        self.users = users
        self.items = items
        self.ratings = ratings
        self.seed = seed
    }

    public func generate() -> RatingMatrix {
        // Cumulative item weights for inverse-CDF sampling.
        var cumulative = [Double](repeating: 0, count: items)
        var total = 0.0
        for i in 0..<items {
            total += 1 / pow(Double(i) + 10, zipfExponent)
            cumulative[i] = total
        }
        var rng = SeededGenerator(seed: seed)
        let raw = (0..<users).map { _ in exp(activitySpread * rng.gaussian()) }
        let scale = Double(ratings) / raw.reduce(0, +)
        let cap = max(5, items / 5)
        let activity = raw.map { min(cap, max(5, Int(($0 * scale).rounded()))) }
        let itemBias = (0..<items).map { _ in Float(0.5 * rng.gaussian()) }
        let (itemCount, baseSeed, totalWeight) = (items, seed, total)
        let cdf = cumulative

        let chunks = concurrentChunks(users, chunksPerCore: 4) { range -> [RatingTriple] in
            var rng = SeededGenerator(seed: baseSeed &+ 0x5EED &* UInt64(range.lowerBound + 1))
            var stamp = [Int32](repeating: -1, count: itemCount)
            var out: [RatingTriple] = []
            out.reserveCapacity(range.reduce(0) { $0 + activity[$1] })
            for u in range {
                let userBias = Float(0.4 * rng.gaussian())
                var made = 0
                while made < activity[u] {
                    // Binary search of the cumulative weights.
                    let target = rng.unit() * totalWeight
                    var lo = 0, hi = itemCount - 1
                    while lo < hi {
                        let mid = (lo + hi) / 2
                        if cdf[mid] < target { lo = mid + 1 } else { hi = mid }
                    }
                    guard stamp[lo] != Int32(u) else { continue }
                    stamp[lo] = Int32(u)
                    let noisy = 3.5 + userBias + itemBias[lo] + Float(0.9 * rng.gaussian())
                    out.append(RatingTriple(user: Int32(u), item: Int32(lo), value: min(5, max(1, noisy.rounded())),
                                            timestamp: Int64(made)))
                    made += 1
                }
            }
            return out
        }
        var triples: [RatingTriple] = []
        triples.reserveCapacity(chunks.reduce(0) { $0 + $1.count })
        for c in chunks { triples += c }
        let userIds = Vocabulary((0..<users).map { "u\($0)" }), itemIds = Vocabulary((0..<items).map { "i\($0)" })
        // Generated pairs are unique per user and in range by construction.
        return try! RatingMatrix(users: userIds, items: itemIds, ratings: triples)
    }
}

extension TestData {
    /// A small seeded random matrix: each users × items cell rated (1–5, uniform) with chance
    /// `density`; users are u0, u1, …, items i0, i1, ….
    public static func randomRatings(users: Int, items: Int, density: Double, seed: UInt64) throws -> RatingMatrix {
        var rng = SeededGenerator(seed: seed)
        var triples: [RatingTriple] = []
        for u in 0..<users { for i in 0..<items where Double.random(in: 0..<1, using: &rng) < density {
            triples.append(RatingTriple(user: Int32(u), item: Int32(i), value: Float(Int.random(in: 1...5, using: &rng))))
        } }
        return try RatingMatrix(users: Vocabulary((0..<users).map { "u\($0)" }), items: Vocabulary((0..<items).map { "i\($0)" }), ratings: triples)
    }
}
