import TimbreCore
import TimbreNeural

/// How well clip vectors serve "more like this": for each test clip, the share of its k nearest
/// test clips (cosine) that have its class, counting only clips of other pieces of music (a
/// clip's own piece would be an easy match), averaged over the test clips. Reported for the
/// content model's embeddings (the mean over the clip's segments of the last LSTM layer's final
/// hidden state, which `content embed` stores per track), for the clip's standardised MFCC mean
/// and standard deviation (the bag-of-frames reference), and for chance.
public struct StyleRetrieval: Sendable, Codable, Equatable {
    public var k: Int
    public var embeddingPrecision: Double
    public var statisticsPrecision: Double
    /// Expected precision of a random order: the mean share of same-class clips among the other pieces' clips.
    public var chance: Double

    /// `pieceOfClip[c]` names test clip c's piece (its variant stem).
    public init(_ experiment: ContentExperiment, classifier: SequenceClassifier, pieceOfClip: [String], k: Int = 10) {
        let test = experiment.test
        let segments = classifier.embeddings(of: test.sequences)
        var embeddings = Matrix(rows: test.clips.count, columns: segments.columns)
        var counts = [Float](repeating: 0, count: test.clips.count)
        for (s, c) in test.clipOfSegment.enumerated() {
            for j in 0..<segments.columns { embeddings[c, j] += segments[s, j] }
            counts[c] += 1
        }
        for c in 0..<embeddings.rows { for j in 0..<embeddings.columns { embeddings[c, j] /= max(counts[c], 1) } }
        let scale = Standardisation(fitting: [ClipStatisticsBaseline.statistics(experiment.train)])
        let statistics = scale.apply(ClipStatisticsBaseline.statistics(test))
        self.k = k
        embeddingPrecision = Self.precision(embeddings, labels: test.clipLabels, pieces: pieceOfClip, k: k)
        statisticsPrecision = Self.precision(statistics, labels: test.clipLabels, pieces: pieceOfClip, k: k)
        chance = Self.chanceLevel(labels: test.clipLabels, pieces: pieceOfClip)
    }

    /// Mean over rows with at least one candidate of: same-label share among the (up to) k rows of
    /// other pieces with the highest cosine.
    public static func precision(_ vectors: Matrix, labels: [Int], pieces: [String], k: Int) -> Double {
        let values = precisions(vectors, labels: labels, pieces: pieces, k: k).compactMap { $0 }
        return values.isEmpty ? 0 : values.reduce(0, +) / Double(values.count)
    }

    /// Per row: the same-label share among its k nearest rows of other pieces (nil without any
    /// candidate), for intervals over the queries.
    public static func precisions(_ vectors: Matrix, labels: [Int], pieces: [String], k: Int) -> [Double?] {
        let n = vectors.rows
        let norms = (0..<n).map { r in vectors.row(r).reduce(Float(0)) { $0 + $1 * $1 }.squareRoot() }
        var result = [Double?](repeating: nil, count: n)
        for a in 0..<n {
            var scores = [Float](repeating: -.infinity, count: n)
            for b in 0..<n where pieces[b] != pieces[a] {
                var dot: Float = 0
                for j in 0..<vectors.columns { dot += vectors[a, j] * vectors[b, j] }
                scores[b] = norms[a] > 0 && norms[b] > 0 ? dot / (norms[a] * norms[b]) : 0
            }
            let nearest = topN(scores, n: k)
            guard !nearest.isEmpty else { continue }
            result[a] = Double(nearest.filter { labels[Int($0.item)] == labels[a] }.count) / Double(nearest.count)
        }
        return result
    }

    public static func chanceLevel(labels: [Int], pieces: [String]) -> Double {
        mean(candidateShares(labels: labels, pieces: pieces, k: 1).map { $0?.chance })
    }

    /// Per row, among the rows of other pieces (nil without any): the same-label share, which is
    /// the precision of a random order, and the highest precision any order can reach at k,
    /// min(k, same-label candidates) / min(k, candidates), below 1 when a small pool has fewer
    /// than k same-label tracks.
    static func candidateShares(labels: [Int], pieces: [String], k: Int) -> [(chance: Double, ceiling: Double)?] {
        labels.indices.map { a in
            let others = labels.indices.filter { pieces[$0] != pieces[a] }
            guard !others.isEmpty else { return nil }
            let same = others.filter { labels[$0] == labels[a] }.count
            return (Double(same) / Double(others.count), Double(min(k, same)) / Double(min(k, others.count)))
        }
    }

    /// Retrieval within pools, for vectors comparable only inside one pool (each pool embedded by
    /// its own model, as `HeldOutStyleEmbeddings`): queries and candidates from the query's pool
    /// only. Entry t of each array belongs to row t; rows in no pool get nil.
    public struct Pooled: Sendable {
        public var precisions: [Double?]
        /// Mean over the queries of the random order's precision, and of the best order's.
        public var chance: Double
        public var ceiling: Double
    }

    public static func pooled(_ vectors: Matrix, labels: [Int], pieces: [String], k: Int, pools: [[Int]]) -> Pooled {
        var precisions = [Double?](repeating: nil, count: vectors.rows), chances = precisions, ceilings = precisions
        for pool in pools {
            let poolLabels = pool.map { labels[$0] }, poolPieces = pool.map { pieces[$0] }
            let values = Self.precisions(vectors.selecting(pool), labels: poolLabels, pieces: poolPieces, k: k)
            let shares = Self.candidateShares(labels: poolLabels, pieces: poolPieces, k: k)
            for (r, t) in pool.enumerated() { (precisions[t], chances[t], ceilings[t]) = (values[r], shares[r]?.chance, shares[r]?.ceiling) }
        }
        return Pooled(precisions: precisions, chance: mean(chances), ceiling: mean(ceilings))
    }

    static func mean(_ values: [Double?]) -> Double {
        let present = values.compactMap { $0 }
        return present.isEmpty ? 0 : present.reduce(0, +) / Double(present.count)
    }
}
