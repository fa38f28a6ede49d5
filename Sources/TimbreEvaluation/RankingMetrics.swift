import Foundation

/// Which held-out items count as relevant for ranking metrics.
public enum Relevance: Codable, Sendable, Equatable, CustomStringConvertible {
    case anyHeldOut
    case ratingAtLeast(Float)

    public func isRelevant(_ rating: Float) -> Bool {
        switch self {
        case .anyHeldOut: true
        case let .ratingAtLeast(t): rating >= t
        }
    }

    public var description: String {
        switch self {
        case .anyHeldOut: "any held-out item"
        case let .ratingAtLeast(t): "held-out rating ≥ \(t)"
        }
    }
}

/// Ranking metrics of one user's list at cutoff N. `ranked` is best first (at most N long, may be
/// shorter when fewer candidates could be scored); `relevant` is the user's relevant held-out set.
/// All are nil when the user has no relevant item, because they are undefined, not zero.
public struct RankingMetrics: Sendable, Equatable {
    public var precision: Double
    /// hits / |relevant| (not LensKit's hits / min(|relevant|, N)).
    public var recall: Double
    public var ndcg: Double
    /// Average precision, normalised by min(|relevant|, N) so a perfect list scores 1.
    public var averagePrecision: Double
    public var reciprocalRank: Double
    public var hit: Double

    public init?(ranked: [Int32], relevant: Set<Int32>, cutoff n: Int) {
        guard !relevant.isEmpty, n > 0 else { return nil }
        var hits = 0
        var dcg = 0.0, apSum = 0.0, rr = 0.0
        for (position, item) in ranked.prefix(n).enumerated() where relevant.contains(item) {
            hits += 1
            dcg += 1 / log2(Double(position) + 2)
            apSum += Double(hits) / Double(position + 1)
            if rr == 0 { rr = 1 / Double(position + 1) }
        }
        let ideal = min(relevant.count, n)
        var idcg = 0.0
        for position in 0..<ideal { idcg += 1 / log2(Double(position) + 2) }
        precision = Double(hits) / Double(n)
        recall = Double(hits) / Double(relevant.count)
        ndcg = dcg / idcg
        averagePrecision = apSum / Double(ideal)
        reciprocalRank = rr
        hit = hits > 0 ? 1 : 0
    }
}

/// Mean self-information −log2(share of training users who rated it) of a list: how unexpected the
/// recommendations are. Items nobody rated count as rated by one user, to stay finite.
public func novelty(of ranked: [Int32], popularity: [Int], userCount: Int) -> Double? {
    guard !ranked.isEmpty, userCount > 0 else { return nil }
    var sum = 0.0
    for item in ranked { sum -= log2(Double(max(1, popularity[Int(item)])) / Double(userCount)) }
    return sum / Double(ranked.count)
}
