import Neighbourhood
import TimbreBaselines
import TimbreCore

/// Item-based neighbourhood CF. The model is each item's `kept` most similar items (a sparse
/// list, never items × items), sorted by similarity, so memory grows with items × kept.
/// Explicit: r̂_ui = centre_ui + Σ s_ij (r_uj − centre_uj) / Σ s_ij over the k most similar items
/// the user rated. Implicit: score_i = Σ s_ji over the user's items j that have i among their k
/// nearest (item-based top-N of Deshpande & Karypis), one pass over the user's items.
public struct ItemKNN: Strategy {
    public static let name = "item-knn"
    public static let summary = "Item-based k nearest neighbours (explicit ratings or implicit ranking)"
    public static let keys = NeighbourhoodSettings.Keys(k: 40, similarity: .cosine, shrinkage: 100, centring: .baseline, mode: .explicit)
    public static let kept = Setting("kept", default: 300, range: 1...100_000, help: "neighbours saved per item in the model (explicit mode; implicit keeps k)")
    public static let parameters = keys.specs + [kept.spec]

    let settings: NeighbourhoodSettings
    let kept: Int

    public init(parameters: Parameters) throws {
        settings = try NeighbourhoodSettings(parameters, keys: Self.keys, strategy: Self.name)
        kept = parameters[Self.kept]
        // Implicit mode keeps k neighbours whatever `kept` says, so only explicit mode needs kept ≥ k.
        if settings.mode == .explicit, kept < settings.k {
            throw ParameterError("item-knn: kept (\(kept)) must be ≥ k (\(settings.k)) in explicit mode")
        }
    }

    public init(_ settings: NeighbourhoodSettings, kept: Int) {
        self.settings = settings
        self.kept = max(kept, settings.k)
    }

    public func fit(_ data: TrainingData) throws -> Model {
        let m = data.ratings
        let s = settings
        let centres = RatingCentres(m, withBaseline: s.needsBaseline)
        let userCentres = (0..<Int32(m.userCount)).map { centres.user(items: m.byUser.columns($0), ratings: m.byUser.values($0)) }

        // Similarity inputs in both storage orders, so the pair loop reads them sequentially.
        var xByUser = [Float](repeating: 0, count: m.ratingCount)
        for u in 0..<Int32(m.userCount) {
            for k in m.byUser.range(u) {
                xByUser[k] = centres.similarityInput(m.byUser.values[k], userCentres[Int(u)], m.byUser.columns[k], s, .items)
            }
        }
        var xByItem = [Float](repeating: 0, count: m.ratingCount)
        var norms = [Float](repeating: 0, count: m.itemCount)
        for i in 0..<Int32(m.itemCount) {
            var sq: Float = 0
            for k in m.byItem.range(i) {
                let x = centres.similarityInput(m.byItem.values[k], userCentres[Int(m.byItem.columns[k])], i, s, .items)
                xByItem[k] = x
                sq += x * x
            }
            norms[Int(i)] = sq.squareRoot()
        }

        let keep = s.mode == .implicit ? s.k : kept
        let byUser = m.byUser, byItem = m.byItem, itemCount = m.itemCount
        let (xu, xi, itemNorms) = (xByUser, xByItem, norms)
        let chunks = concurrentChunks(itemCount) { items -> (counts: [Int], columns: [Int32], sims: [Float]) in
            var sums = PairSums(capacity: itemCount, withMoments: s.similarity.needsMoments)
            var best = BestItems(capacity: keep)
            var counts: [Int] = [], columns: [Int32] = [], sims: [Float] = []
            counts.reserveCapacity(items.count)
            byUser.offsets.withUnsafeBufferPointer { uOff in
            byUser.columns.withUnsafeBufferPointer { uCol in
            byItem.offsets.withUnsafeBufferPointer { iOff in
            byItem.columns.withUnsafeBufferPointer { iCol in
            xu.withUnsafeBufferPointer { xu in
            xi.withUnsafeBufferPointer { xi in
                for i in items {
                    for k in iOff[i]..<iOff[i + 1] {
                        let u = Int(iCol[k]), xa = xi[k]
                        for kk in uOff[u]..<uOff[u + 1] { sums.add(uCol[kk], xa, xu[kk]) }
                    }
                    for j in sums.touched where Int(j) != i {
                        let sim = sums.similarity(j, s.similarity, normA: itemNorms[i], normB: itemNorms[Int(j)], shrinkage: s.shrinkage)
                        if sim > s.minSimilarity, sim >= best.threshold { best.offer(j, sim) }
                    }
                    let row = best.sorted()
                    counts.append(row.count)
                    for n in row { columns.append(n.item); sims.append(s.amplified(n.score)) }
                    sums.reset()
                    best.removeAll()
                }
            }}}}}}
            return (counts, columns, sims)
        }
        var offsets = [0]
        offsets.reserveCapacity(itemCount + 1)
        for c in chunks { for n in c.counts { offsets.append(offsets.last! + n) } }
        let neighbours = CompressedRows(offsets: offsets, columns: chunks.flatMap { $0.columns }, values: chunks.flatMap { $0.sims })
        return Model(settings: s, neighbours: neighbours, centres: centres)
    }

    public struct Model: TrainedModel, BatchRatingPredictor {
        public let settings: NeighbourhoodSettings
        /// Row i: item i's neighbours, most similar first.
        public let neighbours: CompressedRows
        let centres: RatingCentres
        /// The rating scale seen in training; predictions are clipped to it.

        init(settings: NeighbourhoodSettings, neighbours: CompressedRows, centres: RatingCentres) {
            self.settings = settings
            self.neighbours = neighbours
            self.centres = centres
        }

        var itemCount: Int { neighbours.rowCount }

        public func score(_ user: UserProfile, into scores: inout [Float]) {
            switch settings.mode {
            case .implicit: scoreImplicit(user, into: &scores)
            case .explicit:
                let all = (0..<Int32(itemCount)).map { $0 }
                for (i, p) in predict(user, items: all).enumerated() { scores[i] = p ?? -.infinity }
            }
        }

        /// One pass over the user's items' neighbour lists; items no neighbour list reaches stay -inf.
        func scoreImplicit(_ user: UserProfile, into scores: inout [Float]) {
            let k = settings.k
            scores.withUnsafeMutableBufferPointer { out in
                for i in 0..<itemCount { out[i] = -.infinity }
                neighbours.offsets.withUnsafeBufferPointer { off in
                neighbours.columns.withUnsafeBufferPointer { col in
                neighbours.values.withUnsafeBufferPointer { sim in
                    for j in user.items where Int(j) < itemCount {
                        let r = off[Int(j)]..<min(off[Int(j) + 1], off[Int(j)] + k)
                        for n in r {
                            let i = Int(col[n])
                            out[i] = out[i] == -.infinity ? sim[n] : out[i] + sim[n]
                        }
                    }
                }}}
            }
        }

        public var scoresAreRatings: Bool { settings.mode == .explicit }

        /// Version 2: the training scale predictions were clipped to (version 1) is gone; hosts clip.
        public static var formatVersion: UInt32 { 2 }

        /// One item: the user's residuals are found by binary search in the (sorted) profile.
        public func predict(_ user: UserProfile, item: Int32) -> Float? {
            guard settings.mode == .explicit, item >= 0, Int(item) < itemCount else { return nil }
            let uc = centres.user(items: user.items[...], ratings: user.ratings[...])
            return estimate(item, uc) { j in
                var lo = 0, hi = user.items.count
                while lo < hi {
                    let mid = (lo + hi) / 2
                    if user.items[mid] < j { lo = mid + 1 } else { hi = mid }
                }
                guard lo < user.items.count, user.items[lo] == j else { return .nan }
                return user.ratings[lo] - centres.centre(uc, j, settings.centring, .items)
            }
        }

        /// Many items: the user's residuals are spread over a dense per-item buffer once per call,
        /// so each target's neighbour scan looks them up in O(1).
        public func predict(_ user: UserProfile, items: [Int32]) -> [Float?] {
            guard settings.mode == .explicit else { return items.map { _ in nil } }
            let uc = centres.user(items: user.items[...], ratings: user.ratings[...])
            var residual = [Float](repeating: .nan, count: itemCount)
            for (j, r) in zip(user.items, user.ratings) where Int(j) < itemCount {
                residual[Int(j)] = r - centres.centre(uc, j, settings.centring, .items)
            }
            return residual.withUnsafeBufferPointer { res in
                items.map { i in
                    guard i >= 0, Int(i) < itemCount else { return nil }
                    return estimate(i, uc) { res[Int($0)] }
                }
            }
        }

        /// centre_ui + Σ s_ij·residual_j / Σ s_ij over the first k neighbours of i (most similar
        /// first) the user rated; `residual` is NaN for items the user did not rate.
        @inline(__always)
        func estimate(_ i: Int32, _ uc: UserCentre, residual: (Int32) -> Float) -> Float? {
            let s = settings
            var used = 0
            var num: Float = 0, den: Float = 0
            neighbours.columns.withUnsafeBufferPointer { col in
            neighbours.values.withUnsafeBufferPointer { sim in
                for n in neighbours.range(Int(i)) {
                    let r = residual(col[n])
                    guard !r.isNaN else { continue }
                    num += sim[n] * r
                    den += sim[n]
                    used += 1
                    if used == s.k { break }
                }
            }}
            guard used >= s.minNeighbours, den > 0 else { return nil }
            return centres.centre(uc, i, s.centring, .items) + num / den
        }

        public func encode(to w: inout ModelWriter) {
            settings.encode(to: &w)
            neighbours.encode(to: &w)
            centres.encode(to: &w)
        }

        public init(decoding r: inout ModelReader) throws {
            settings = try NeighbourhoodSettings(decoding: &r)
            neighbours = try CompressedRows(decoding: &r)
            centres = try RatingCentres(decoding: &r)
        }
    }
}
