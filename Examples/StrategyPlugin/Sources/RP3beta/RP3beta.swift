import Foundation
import TimbreStrategyKit

/// RP3β (Paudel, Christoffel, Newell & Bernstein 2017, "Updatable, accurate, diverse, and scalable
/// recommendations for interactive applications"): a three-step random walk user → item → user →
/// item, with the walk's end re-weighted against popularity.
///
/// With X the binary user × item interaction matrix, P_ui = X with each user's row divided by
/// their number of items, P_iu = Xᵀ with each item's row divided by its number of users, both
/// raised elementwise to `alpha`:
///
///     W = P_iu · P_ui,   W_ij ← W_ij / popularity_j^beta,   W_ii = 0,   top-k per row
///
/// and a user's score for item j is Σ over their items i of W_ij. beta = 0 is plain P³α; larger
/// beta favours items fewer people have, which is where the method gains over item-kNN.
public struct RP3beta: Strategy {
    public static let name = "rp3beta"
    public static let summary = "Random walk item × item model with popularity penalty (Paudel et al. 2017 RP3β), plugin example"
    public static let alpha = Setting("alpha", default: 1.0, range: 0...5, help: "exponent on the transition probabilities")
    public static let beta = Setting("beta", default: 0.5, range: 0...5, help: "exponent of the popularity each item's weight is divided by")
    public static let k = Setting("k", default: 100, range: 0...1_000_000, help: "neighbours kept per item (0: all)")
    public static let parameters = [alpha.spec, beta.spec, k.spec]

    /// The parameters as the host resolved them against `parameters`: `settings[Self.alpha]` is a
    /// Double already checked against its range.
    let settings: Parameters

    public init(parameters: Parameters) { settings = parameters }

    public func fit(_ data: TrainingData) throws -> Model {
        let alpha = settings[Self.alpha], beta = settings[Self.beta], k = settings[Self.k]
        let m = data.ratings
        let byItem = m.byItem, byUser = m.byUser
        let n = m.itemCount
        // (1 / degree)^alpha of each user and item: the walk's step probabilities, raised.
        let userStep = (0..<Int32(m.userCount)).map { u in Float(pow(1 / Double(max(1, byUser.count(u))), alpha)) }
        let itemStep = (0..<Int32(n)).map { i in Float(pow(1 / Double(max(1, byItem.count(i))), alpha)) }
        let popularityPenalty = (0..<Int32(n)).map { j in Float(1 / pow(Double(max(1, byItem.count(j))), beta)) }
        let keep = k == 0 ? n : min(k, n)

        // Row i of W at a time: a dense accumulator over the items two steps away.
        let chunks = concurrentChunks(n) { items -> (counts: [Int], neighbours: [Int32], weights: [Float]) in
            var acc = [Float](repeating: 0, count: n)
            var reached = [Bool](repeating: false, count: n)
            var touched: [Int32] = []
            var best = BestItems(capacity: keep)
            var counts: [Int] = [], neighbours: [Int32] = [], weights: [Float] = []
            for i in items {
                let i = Int32(i)
                for u in byItem.columns(i) {
                    let step = itemStep[Int(i)] * userStep[Int(u)]
                    for j in byUser.columns(u) {
                        if !reached[Int(j)] { reached[Int(j)] = true; touched.append(j) }
                        acc[Int(j)] += step
                    }
                }
                best.removeAll()
                for j in touched where j != i { best.offer(j, acc[Int(j)] * popularityPenalty[Int(j)]) }
                for j in touched { acc[Int(j)] = 0; reached[Int(j)] = false }
                touched.removeAll(keepingCapacity: true)
                // Neighbours in index order, so a row reads like a sparse matrix row.
                let row = best.sorted().sorted { $0.item < $1.item }
                counts.append(row.count)
                neighbours += row.map(\.item)
                weights += row.map(\.score)
            }
            return (counts, neighbours, weights)
        }
        var offsets = [Int64(0)]
        var neighbours: [Int32] = [], weights: [Float] = []
        for c in chunks {
            for count in c.counts { offsets.append(offsets.last! + Int64(count)) }
            neighbours += c.neighbours
            weights += c.weights
        }
        return Model(itemCount: n, offsets: offsets, neighbours: neighbours, weights: weights)
    }

    /// W as sparse rows: row i's neighbours j (ascending) and weights W_ij.
    public struct Model: TrainedModel {
        public let itemCount: Int
        let offsets: [Int64]
        let neighbours: [Int32]
        let weights: [Float]

        public init(itemCount: Int, offsets: [Int64], neighbours: [Int32], weights: [Float]) {
            self.itemCount = itemCount
            self.offsets = offsets
            self.neighbours = neighbours
            self.weights = weights
        }

        /// W_ij, 0 where j is not among i's kept neighbours.
        public func weight(_ i: Int32, _ j: Int32) -> Float {
            let row = Int(offsets[Int(i)])..<Int(offsets[Int(i) + 1])
            return row.first { neighbours[$0] == j }.map { weights[$0] } ?? 0
        }

        public func score(_ user: UserProfile, into scores: inout [Float]) {
            for j in 0..<itemCount { scores[j] = 0 }
            for i in user.items where Int(i) < itemCount {
                for e in Int(offsets[Int(i)])..<Int(offsets[Int(i) + 1]) { scores[Int(neighbours[e])] += weights[e] }
            }
        }

        public func explain(_ user: UserProfile, item: Int32, limit: Int) -> [Contribution]? {
            largestShares(user.items.map { (item: $0, term: weight($0, item)) }.filter { $0.term != 0 }, limit: limit)
        }

        public func encode(to writer: inout ModelWriter) {
            writer.write(Int64(itemCount))
            writer.write(offsets)
            writer.write(neighbours)
            writer.write(weights)
        }

        public init(decoding reader: inout ModelReader) throws {
            let count = try reader.read(Int64.self)
            offsets = try reader.read()
            neighbours = try reader.read()
            weights = try reader.read()
            // Scoring indexes by these: a corrupt blob is refused here, never read out of bounds.
            guard count >= 0, offsets.count == Int(count) + 1, offsets.first == 0, offsets.last == Int64(neighbours.count),
                  weights.count == neighbours.count, zip(offsets, offsets.dropFirst()).allSatisfy({ $0 <= $1 }),
                  neighbours.allSatisfy({ $0 >= 0 && Int64($0) < count }) else {
                throw ModelDecodingError(description: "rp3beta model: inconsistent sparse rows")
            }
            itemCount = Int(count)
        }
    }
}
