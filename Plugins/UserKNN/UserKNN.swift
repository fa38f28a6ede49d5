import Neighbourhood
import TimbreBaselines
import TimbreCore

/// User-based neighbourhood CF. The model is the training ratings (by item and by user) plus
/// per-user norms; a user's neighbours are found at query time from their profile, so new users
/// and fresh ratings are served without retraining.
/// Explicit: r̂_ui = centre_ui + Σ s_uv (r_vi − centre_vi) / Σ s_uv over the k most similar users
/// who rated i. Implicit: score_i = Σ s_uv over those k users (LensKit's implicit user-kNN).
public struct UserKNN: Strategy {
    public static let name = "user-knn"
    public static let summary = "User-based k nearest neighbours (explicit ratings or implicit ranking)"
    public static let keys = NeighbourhoodSettings.Keys(k: 40, similarity: .pearsonBaseline, shrinkage: 100, centring: .baseline, mode: .explicit)
    public static let parameters = keys.specs

    let settings: NeighbourhoodSettings

    public init(parameters: Parameters) throws {
        settings = try NeighbourhoodSettings(parameters, keys: Self.keys, strategy: Self.name)
    }

    public init(_ settings: NeighbourhoodSettings) { self.settings = settings }

    public func fit(_ data: TrainingData) throws -> Model {
        let m = data.ratings
        let s = settings
        let centres = RatingCentres(m, withBaseline: s.needsBaseline)
        let userCentres = (0..<Int32(m.userCount)).map { centres.user(items: m.byUser.columns($0), ratings: m.byUser.values($0)) }

        var residualByUser = [Float](repeating: 0, count: m.ratingCount)
        var norms = [Float](repeating: 0, count: m.userCount)
        for u in 0..<Int32(m.userCount) {
            var sq: Float = 0
            for k in m.byUser.range(u) {
                let (i, r) = (m.byUser.columns[k], m.byUser.values[k])
                residualByUser[k] = r - centres.centre(userCentres[Int(u)], i, s.centring, .users)
                let x = centres.similarityInput(r, userCentres[Int(u)], i, s, .users)
                sq += x * x
            }
            norms[Int(u)] = sq.squareRoot()
        }
        var xByItem = [Float](repeating: 0, count: m.ratingCount)
        var residualByItem = [Float](repeating: 0, count: m.ratingCount)
        for i in 0..<Int32(m.itemCount) {
            for k in m.byItem.range(i) {
                let (v, r) = (Int(m.byItem.columns[k]), m.byItem.values[k])
                xByItem[k] = centres.similarityInput(r, userCentres[v], i, s, .users)
                residualByItem[k] = r - centres.centre(userCentres[v], i, s.centring, .users)
            }
        }
        return Model(settings: s, centres: centres, norms: norms,
                     byItem: CompressedRows(offsets: m.byItem.offsets, columns: m.byItem.columns, values: xByItem),
                     residualByItem: residualByItem,
                     byUser: CompressedRows(offsets: m.byUser.offsets, columns: m.byUser.columns, values: residualByUser))
    }

    public struct Model: TrainedModel, BatchRatingPredictor {
        public let settings: NeighbourhoodSettings
        let centres: RatingCentres
        /// Full-vector norm of each training user's similarity inputs.
        let norms: [Float]
        /// Row i: the users who rated item i and their similarity inputs.
        let byItem: CompressedRows
        /// Aligned with `byItem`: r_vi − centre_vi.
        let residualByItem: [Float]
        /// Row v: the items user v rated and r_vi − centre_vi.
        let byUser: CompressedRows

        init(settings: NeighbourhoodSettings, centres: RatingCentres, norms: [Float], byItem: CompressedRows,
             residualByItem: [Float], byUser: CompressedRows) {
            self.settings = settings
            self.centres = centres
            self.norms = norms
            self.byItem = byItem
            self.residualByItem = residualByItem
            self.byUser = byUser
        }

        var itemCount: Int { byItem.rowCount }
        var userCount: Int { byUser.rowCount }

        /// Similarity of `user` to every training user (0 for users sharing nothing or below
        /// min-similarity, and for the user themself).
        func similarities(_ user: UserProfile, _ uc: UserCentre) -> [Float] {
            let s = settings
            var sums = PairSums(capacity: userCount, withMoments: s.similarity.needsMoments)
            var sq: Float = 0
            byItem.offsets.withUnsafeBufferPointer { off in
            byItem.columns.withUnsafeBufferPointer { col in
            byItem.values.withUnsafeBufferPointer { xv in
                for (j, r) in zip(user.items, user.ratings) where Int(j) < itemCount {
                    let x = centres.similarityInput(r, uc, j, s, .users)
                    sq += x * x
                    for k in off[Int(j)]..<off[Int(j) + 1] { sums.add(col[k], x, xv[k]) }
                }
            }}}
            let norm = sq.squareRoot()
            var sims = [Float](repeating: 0, count: userCount)
            for v in sums.touched where v != user.user {
                let sim = sums.similarity(v, s.similarity, normA: norm, normB: norms[Int(v)], shrinkage: s.shrinkage)
                if sim > s.minSimilarity { sims[Int(v)] = s.amplified(sim) }
            }
            return sims
        }

        public var scoresAreRatings: Bool { settings.mode == .explicit }

        /// Version 2: the training scale predictions were clipped to (version 1) is gone; hosts clip.
        public static var formatVersion: UInt32 { 2 }

        public func predict(_ user: UserProfile, item: Int32) -> Float? { predict(user, items: [item])[0] }

        public func predict(_ user: UserProfile, items: [Int32]) -> [Float?] {
            guard settings.mode == .explicit else { return items.map { _ in nil } }
            let s = settings
            let uc = centres.user(items: user.items[...], ratings: user.ratings[...])
            let sims = similarities(user, uc)
            var best = BestItems(capacity: s.k)
            return items.map { i -> Float? in
                guard i >= 0, Int(i) < itemCount else { return nil }
                best.removeAll()
                // `item` of each offer is the rating's position in byItem, to find its residual.
                for k in byItem.range(Int(i)) {
                    let sim = sims[Int(byItem.columns[k])]
                    if sim > 0, sim >= best.threshold { best.offer(Int32(k), sim) }
                }
                guard best.count >= s.minNeighbours else { return nil }
                var num: Float = 0, den: Float = 0
                for n in best.unordered {
                    num += n.score * residualByItem[Int(n.item)]
                    den += n.score
                }
                guard den > 0 else { return nil }
                return centres.centre(uc, i, s.centring, .users) + num / den
            }
        }

        /// Visits neighbours most similar first and lets each item take only its first k raters,
        /// which is the per-item top-k without a heap per item.
        public func score(_ user: UserProfile, into scores: inout [Float]) {
            let s = settings
            let uc = centres.user(items: user.items[...], ratings: user.ratings[...])
            let sims = similarities(user, uc)
            var order: [ScoredItem] = []
            for v in 0..<userCount where sims[v] > 0 { order.append(ScoredItem(item: Int32(v), score: sims[v])) }
            order.sort { $0.score > $1.score || ($0.score == $1.score && $0.item < $1.item) }
            var used = [Int32](repeating: 0, count: itemCount)
            var num = [Float](repeating: 0, count: itemCount)
            var den = [Float](repeating: 0, count: itemCount)
            let k = Int32(s.k), explicit = s.mode == .explicit
            used.withUnsafeMutableBufferPointer { used in
            num.withUnsafeMutableBufferPointer { num in
            den.withUnsafeMutableBufferPointer { den in
            byUser.offsets.withUnsafeBufferPointer { off in
            byUser.columns.withUnsafeBufferPointer { col in
            byUser.values.withUnsafeBufferPointer { res in
                for neighbour in order {
                    let v = Int(neighbour.item), sim = neighbour.score
                    for n in off[v]..<off[v + 1] {
                        let i = Int(col[n])
                        guard used[i] < k else { continue }
                        used[i] += 1
                        den[i] += sim
                        if explicit { num[i] += sim * res[n] }
                    }
                }
            }}}}}}
            for i in 0..<itemCount {
                if used[i] < Int32(s.minNeighbours) || den[i] <= 0 {
                    scores[i] = -.infinity
                } else if s.mode == .implicit {
                    scores[i] = den[i]
                } else {
                    scores[i] = centres.centre(uc, Int32(i), s.centring, .users) + num[i] / den[i]
                }
            }
        }

        public func encode(to w: inout ModelWriter) {
            settings.encode(to: &w)
            centres.encode(to: &w)
            w.write(norms)
            byItem.encode(to: &w)
            w.write(residualByItem)
            byUser.encode(to: &w)
        }

        public init(decoding r: inout ModelReader) throws {
            settings = try NeighbourhoodSettings(decoding: &r)
            centres = try RatingCentres(decoding: &r)
            norms = try r.read()
            byItem = try CompressedRows(decoding: &r)
            residualByItem = try r.read()
            byUser = try CompressedRows(decoding: &r)
            guard norms.count == byUser.rowCount, residualByItem.count == byItem.columns.count else {
                throw ModelDecodingError(description: "user-knn model arrays disagree in size")
            }
        }
    }
}
