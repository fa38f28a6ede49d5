import Testing
import TimbreCore

/// Direct loops over the formulas the neighbourhood and content docs state, in Double, with none of
/// the models' machinery (pair sums, scratch buffers, gathered rows, batching): what the models'
/// single and batch predictions are both held to.
enum NaiveReference {
    /// User-kNN, cosine of mean-centred ratings (full-vector norms, missing = 0), shrinkage by the
    /// co-rating count n: s·(n−1)/(n−1+shrinkage); r̂ = mean_u + Σ s_uv (r_vi − mean_v) / Σ s_uv
    /// over the k most similar users who rated i with s > 0; nil with fewer than `minNeighbours`.
    static func userKNN(_ m: RatingMatrix, _ profile: UserProfile, item: Int32, k: Int, minNeighbours: Int, shrinkage: Double) -> Double? {
        func ratings(_ items: [Int32], _ values: [Float]) -> [Int32: Double] {
            Dictionary(uniqueKeysWithValues: zip(items, values.map(Double.init)))
        }
        let mine = ratings(profile.items, profile.ratings)
        let myMean = mine.values.reduce(0, +) / Double(max(mine.count, 1))
        let myNorm = mine.values.map { ($0 - myMean) * ($0 - myMean) }.reduce(0, +).squareRoot()
        var raters: [(similarity: Double, residual: Double)] = []
        for v in 0..<Int32(m.userCount) where v != profile.user {
            let theirs = ratings(Array(m.byUser.columns(v)), Array(m.byUser.values(v)))
            guard let rating = theirs[item] else { continue }
            let theirMean = theirs.values.reduce(0, +) / Double(theirs.count)
            let theirNorm = theirs.values.map { ($0 - theirMean) * ($0 - theirMean) }.reduce(0, +).squareRoot()
            let shared = mine.keys.filter { theirs[$0] != nil }
            guard !shared.isEmpty, myNorm > 0, theirNorm > 0 else { continue }
            var s = shared.map { (mine[$0]! - myMean) * (theirs[$0]! - theirMean) }.reduce(0, +) / (myNorm * theirNorm)
            let n = Double(shared.count)
            if shrinkage > 0 { s *= (n - 1) / (n - 1 + shrinkage) }
            if s > 0 { raters.append((s, rating - theirMean)) }
        }
        let nearest = raters.sorted { $0.similarity > $1.similarity }.prefix(k)
        guard nearest.count >= minNeighbours, !nearest.isEmpty else { return nil }
        return myMean + nearest.map { $0.similarity * $0.residual }.reduce(0, +) / nearest.map(\.similarity).reduce(0, +)
    }

    /// Content: the similarity-weighted mean of the user's ratings on the k rated items (other than
    /// `item`) whose embeddings are most similar to `item`'s by cosine, similarities above
    /// `minSimilarity` only; nil when `item` or every rated item lacks a usable embedding.
    static func content(_ table: EmbeddingTable, _ profile: UserProfile, item: Int32, k: Int, minSimilarity: Double) -> Double? {
        func unit(_ i: Int32) -> [Double]? {
            guard let v = table.vector(i) else { return nil }
            let norm = v.map { Double($0) * Double($0) }.reduce(0, +).squareRoot()
            return norm > 0 ? v.map { Double($0) / norm } : nil
        }
        guard let target = unit(item) else { return nil }
        var neighbours: [(similarity: Double, rating: Double)] = []
        for (rated, rating) in zip(profile.items, profile.ratings) where rated != item {
            guard let other = unit(rated) else { continue }
            let s = zip(target, other).map { $0 * $1 }.reduce(0, +)
            if s > minSimilarity { neighbours.append((s, Double(rating))) }
        }
        let nearest = neighbours.sorted { $0.similarity > $1.similarity }.prefix(k)
        guard !nearest.isEmpty else { return nil }
        return nearest.map { $0.similarity * $0.rating }.reduce(0, +) / nearest.map(\.similarity).reduce(0, +)
    }
}

/// `predicted` and `reference` agree: both nil, or both present within `tolerance`.
func expectAgrees(_ predicted: Float?, _ reference: Double?, tolerance: Double = 1e-4, _ comment: Comment? = nil,
                  sourceLocation: SourceLocation = #_sourceLocation) {
    switch (predicted, reference) {
    case (nil, nil): break
    case let (p?, r?): #expect(abs(Double(p) - r) <= tolerance * max(1, abs(r)), "\(p) vs \(r) \(comment.map { "\($0)" } ?? "")", sourceLocation: sourceLocation)
    default: Issue.record("prediction \(String(describing: predicted)), reference \(String(describing: reference)) \(comment.map { "\($0)" } ?? "")",
                          sourceLocation: sourceLocation)
    }
}
