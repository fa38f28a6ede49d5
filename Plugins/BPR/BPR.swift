import Foundation
import LatentFactors
import TimbreCore

/// Bayesian personalised ranking (Rendle, Freudenthaler, Gantner & Schmidt-Thieme 2009): user and
/// item factors plus an item bias, x̂_ui = x_u·y_i + b_i, learnt by SGD on ln σ(x̂_ui − x̂_uj) over
/// (user, interacted item i, sampled other item j) triples. Every rating or play counts as a positive;
/// with play counts a positive's step is weighted 1 + ln(count) (normalised to mean 1).
///
/// Training is split into `threads` shards of users, each drawing its triples from its own
/// `SeededGenerator` stream and updating the shared item rows without locks (Hogwild). With more
/// than one thread the result therefore depends on thread timing; `threads=1` is reproducible bit
/// for bit for a seed.
public struct BPR: Strategy {
    public static let name = "bpr"
    public static let summary = "Bayesian personalised ranking (Rendle 2009): factors and item biases by SGD over sampled (user, positive, negative) triples"
    public static let factors = Setting("factors", default: 64, range: 1...1024, help: "latent dimensions")
    public static let epochs = Setting("epochs", default: 60, range: 1...10_000, help: "passes; each draws as many triples as there are training interactions")
    public static let learningRate = Setting("learning-rate", default: 0.03, above: 0, atMost: 1, help: "SGD step size")
    public static let regularisation = Setting("regularisation", default: 0.01, range: 0...1e9, help: "L2 weight on the factors and biases a step touches")
    public static let negatives = Setting("negatives", default: Negatives.uniform,
                                   help: "how the other item of a triple is drawn: uniform over items, or in proportion to their interactions")
    public static let playWeight = Setting("play-weight", default: PlayWeight.log, help: "with play counts, a positive's weight: 1 + ln(count), or 1")
    public static let foldInEpochs = Setting("fold-in-epochs", default: 30, range: 1...10_000,
                                      help: "serving a new or changed profile: SGD passes over its items with the item factors fixed")
    public static let seed = Setting("seed", default: 0, range: 0...4_294_967_295, help: "initial factors and triple sampling")
    public static let threads = Setting("threads", default: 0, range: 0...1024,
                                 help: "training shards, each on its own thread; 0 = one per core; only 1 is bit-for-bit reproducible")
    public static let parameters = [factors.spec, epochs.spec, learningRate.spec, regularisation.spec, negatives.spec, playWeight.spec,
                                    foldInEpochs.spec, seed.spec, threads.spec]

    public enum Negatives: String, CaseIterable, SettingChoice { case uniform, popularity }
    public enum PlayWeight: String, CaseIterable, SettingChoice { case log, none }

    /// The settings as the fit uses them; defaults are the declared settings'.
    public struct Settings: Sendable, Equatable {
        public var factors = BPR.factors.defaultValue
        public var epochs = BPR.epochs.defaultValue
        public var learningRate = Float(BPR.learningRate.defaultValue)
        public var regularisation = Float(BPR.regularisation.defaultValue)
        public var popularityNegatives = BPR.negatives.defaultValue == .popularity
        public var logPlayWeight = BPR.playWeight.defaultValue == .log
        public var foldInEpochs = BPR.foldInEpochs.defaultValue
        public var seed = UInt64(BPR.seed.defaultValue)
        public var threads = BPR.threads.defaultValue

        public init() {}
    }

    public let settings: Settings

    public init(settings: Settings) { self.settings = settings }

    public init(parameters p: Parameters) {
        var s = Settings()
        s.factors = p[Self.factors]
        s.epochs = p[Self.epochs]
        s.learningRate = Float(p[Self.learningRate])
        s.regularisation = Float(p[Self.regularisation])
        s.popularityNegatives = p[Self.negatives] == .popularity
        s.logPlayWeight = p[Self.playWeight] == .log
        s.foldInEpochs = p[Self.foldInEpochs]
        s.threads = p[Self.threads]
        s.seed = UInt64(p[Self.seed])
        settings = s
    }

    public func fit(_ data: TrainingData) -> Model {
        let m = data.ratings, d = settings.factors
        let byUser = m.byUser
        var generator = SeededGenerator(seed: settings.seed)
        // Small random factors (σ 0.1) break the symmetry; biases start at 0.
        let users = SharedFloats((0..<m.userCount * d).map { _ in Float(generator.gaussian() * 0.1) })
        let items = SharedFloats((0..<m.itemCount * d).map { _ in Float(generator.gaussian() * 0.1) })
        let bias = SharedFloats([Float](repeating: 0, count: m.itemCount))
        defer { users.free(); items.free(); bias.free() }

        let weights = positiveWeights(data)
        let sampler = TripleSampler(rows: byUser, rowOf: Self.rowOfEntry(byUser), itemCount: m.itemCount,
                                    popularityNegatives: settings.popularityNegatives)
        let shards = Self.shards(byUser, count: min(settings.threads == 0 ? availableCores : settings.threads, max(m.userCount, 1)))
        // One stream per shard, all derived from the seed, so a shard's triples never depend on another's.
        var streams = shards.indices.map { SeededGenerator(seed: settings.seed &+ 0x5DEE_CE66 &* UInt64($0 + 1)) }
        let step = SGDStep(factors: d, rate: settings.learningRate, regularisation: settings.regularisation)

        for _ in 0..<settings.epochs {
            if shards.count == 1 {
                Self.epoch(shards[0], &streams[0], sampler, weights, step, users, items, bias)
            } else {
                // Exactly one thread per shard (not concurrentChunks' core-dependent chunking), so
                // the sample streams are fixed by `threads` alone.
                let current = streams
                streams = onThreads(shards.count) { t in
                    var g = current[t]
                    Self.epoch(shards[t], &g, sampler, weights, step, users, items, bias)
                    return g
                }
            }
        }

        let fingerprints = (0..<Int32(m.userCount)).map { LatentFactors.fingerprint(items: byUser.columns($0), values: Optional<[Float]>.none) }
        return Model(settings: settings, userFactors: users.array, itemFactors: items.array, itemBias: bias.array,
                     fingerprints: fingerprints, popularity: Self.cumulativeCounts(m), playWeights: weights != nil,
                     meanPlayWeight: weights?.mean ?? 1)
    }

    /// Per-interaction weights (byUser order) for play counts, or nil when every positive weighs 1.
    func positiveWeights(_ data: TrainingData) -> (values: [Float], mean: Float)? {
        guard data.feedback == .plays, settings.logPlayWeight, data.ratings.ratingCount > 0 else { return nil }
        let raw = data.ratings.byUser.values.map { 1 + log(max($0, 1)) }
        let mean = raw.reduce(0, +) / Float(raw.count)
        return (raw.map { $0 / mean }, mean)
    }

    /// One pass of one shard: as many triples as the shard has interactions.
    static func epoch(_ shard: Range<Int>, _ g: inout SeededGenerator, _ sampler: TripleSampler,
                      _ weights: (values: [Float], mean: Float)?, _ step: SGDStep,
                      _ users: SharedFloats, _ items: SharedFloats, _ bias: SharedFloats) {
        guard !shard.isEmpty else { return }
        let d = step.factors
        for _ in 0..<shard.count {
            let entry = shard.lowerBound + g.below(shard.count)
            let u = Int(sampler.rowOf[entry]), i = Int(sampler.rows.columns[entry])
            guard let j = sampler.negative(for: Int32(u), &g) else { continue }
            step.apply(user: users.base + u * d, positive: items.base + i * d, negative: items.base + Int(j) * d,
                       positiveBias: bias.base + i, negativeBias: bias.base + Int(j), weight: weights?.values[entry] ?? 1)
        }
    }

    /// Contiguous user ranges, one per shard, cut where the interaction count crosses equal shares
    /// (returned as ranges of interaction entries in byUser order).
    static func shards(_ rows: SparseRows, count: Int) -> [Range<Int>] {
        let total = rows.nonzeroCount
        var cuts = [0]
        var user = 0
        for t in 1..<max(count, 1) {
            let target = total * t / count
            while user < rows.rowCount, rows.offsets[user] < target { user += 1 }
            cuts.append(max(rows.offsets[user], cuts.last!))
        }
        cuts.append(total)
        return (0..<cuts.count - 1).map { cuts[$0]..<cuts[$0 + 1] }
    }

    static func rowOfEntry(_ rows: SparseRows) -> [Int32] {
        var out = [Int32](repeating: 0, count: rows.nonzeroCount)
        for r in 0..<Int32(rows.rowCount) { for k in rows.range(r) { out[k] = r } }
        return out
    }

    /// Running totals of interactions per item: popularity sampling draws below the last total and
    /// finds its item by binary search.
    static func cumulativeCounts(_ m: RatingMatrix) -> [Int64] {
        var total: Int64 = 0
        return (0..<Int32(m.itemCount)).map { total += Int64(m.byItem.count($0)); return total }
    }

    /// The SGD update on ln σ(x_uij) − λ/2 (‖x_u‖² + ‖y_i‖² + ‖y_j‖² + b_i² + b_j²), where
    /// x_uij = b_i − b_j + x_u·(y_i − y_j); its derivative in x_uij is σ(−x_uij).
    public struct SGDStep: Sendable {
        public let factors: Int
        public let rate: Float
        public let regularisation: Float

        public init(factors: Int, rate: Float, regularisation: Float) {
            self.factors = factors
            self.rate = rate
            self.regularisation = regularisation
        }

        @inline(__always)
        public func apply(user x: UnsafeMutablePointer<Float>, positive yi: UnsafeMutablePointer<Float>,
                          negative yj: UnsafeMutablePointer<Float>, positiveBias bi: UnsafeMutablePointer<Float>,
                          negativeBias bj: UnsafeMutablePointer<Float>, weight: Float) {
            var z = bi.pointee - bj.pointee
            for k in 0..<factors { z += x[k] * (yi[k] - yj[k]) }
            let g = weight / (1 + exp(z))
            let r = rate, l = regularisation
            for k in 0..<factors {
                let xk = x[k], ik = yi[k], jk = yj[k]
                x[k] = xk + r * (g * (ik - jk) - l * xk)
                yi[k] = ik + r * (g * xk - l * ik)
                yj[k] = jk + r * (-g * xk - l * jk)
            }
            bi.pointee += r * (g - l * bi.pointee)
            bj.pointee += r * (-g - l * bj.pointee)
        }

        /// The same step on the user's factors alone (item factors fixed): fold-in.
        @inline(__always)
        func applyToUser(_ x: UnsafeMutablePointer<Float>, positive yi: UnsafePointer<Float>, negative yj: UnsafePointer<Float>,
                         biasDifference: Float, weight: Float) {
            var z = biasDifference
            for k in 0..<factors { z += x[k] * (yi[k] - yj[k]) }
            let g = weight / (1 + exp(z))
            for k in 0..<factors { x[k] += rate * (g * (yi[k] - yj[k]) - regularisation * x[k]) }
        }
    }

    struct TripleSampler: Sendable {
        let rows: SparseRows
        let rowOf: [Int32]
        let itemCount: Int
        /// Draws the other item as a random interaction's item, i.e. in proportion to popularity.
        let popularityNegatives: Bool

        /// An item `user` has not interacted with, or nil after 20 draws that all hit their items
        /// (a user who has interacted with nearly everything is skipped rather than looped on).
        @inline(__always) func negative(for user: Int32, _ g: inout SeededGenerator) -> Int32? {
            let range = rows.range(user)
            for _ in 0..<20 {
                let j = popularityNegatives ? rows.columns[g.below(rows.nonzeroCount)] : Int32(g.below(itemCount))
                if !contains(rows.columns, range, j) { return j }
            }
            return nil
        }
    }

    public struct Model: ItemFactorModel {
        public let settings: Settings
        let userFactors: [Float]
        public let itemFactors: [Float]
        public let itemBias: [Float]
        /// Per training user: the fingerprint of the items their stored factors were learnt from.
        let fingerprints: [UInt64]
        /// Running interaction totals per item (for popularity-weighted negatives in fold-in).
        let popularity: [Int64]
        /// Trained on play counts with log weights (fold-in weighs the profile's counts alike).
        let playWeights: Bool
        let meanPlayWeight: Float

        public static let formatVersion: UInt32 = 1

        var factors: Int { settings.factors }
        var itemCount: Int { itemBias.count }

        init(settings: Settings, userFactors: [Float], itemFactors: [Float], itemBias: [Float], fingerprints: [UInt64],
             popularity: [Int64], playWeights: Bool, meanPlayWeight: Float) {
            self.settings = settings
            self.userFactors = userFactors
            self.itemFactors = itemFactors
            self.itemBias = itemBias
            self.fingerprints = fingerprints
            self.popularity = popularity
            self.playWeights = playWeights
            self.meanPlayWeight = meanPlayWeight
        }

        /// Each item's factors with its bias as a last column (the user's row ends in 1).
        public var itemFactorDimension: Int { factors + 1 }
        public var itemFactorRows: [Float] {
            var rows = [Float](repeating: 0, count: itemCount * (factors + 1))
            for i in 0..<itemCount {
                rows.replaceSubrange(i * (factors + 1)..<i * (factors + 1) + factors, with: itemFactors[i * factors..<(i + 1) * factors])
                rows[i * (factors + 1) + factors] = itemBias[i]
            }
            return rows
        }
        public func userFactorRow(_ user: UserProfile) -> [Float]? { userVector(user) + [1] }

        /// The stored factors when the profile is the one trained on, else a fold-in.
        public func userVector(_ user: UserProfile) -> [Float] {
            if let u = user.user, Int(u) < fingerprints.count,
               fingerprints[Int(u)] == LatentFactors.fingerprint(items: user.items, values: Optional<[Float]>.none) {
                return Array(userFactors[Int(u) * factors..<(Int(u) + 1) * factors])
            }
            return foldIn(user)
        }

        /// SGD on the profile's triples with the item factors and biases fixed, from x = 0, for
        /// `fold-in-epochs` passes over its items. Seeded by the model's seed and the profile, so the
        /// same profile always gets the same vector; an empty profile gets 0 (scores = item biases).
        public func foldIn(_ user: UserProfile) -> [Float] {
            var x = [Float](repeating: 0, count: factors)
            let known = user.items.indices.filter { user.items[$0] >= 0 && Int(user.items[$0]) < itemCount }
            guard !known.isEmpty else { return x }
            let items = known.map { user.items[$0] }
            let weights = known.map { playWeights ? (1 + log(max(user.ratings[$0], 1))) / meanPlayWeight : 1 }
            var g = SeededGenerator(seed: settings.seed ^ LatentFactors.fingerprint(items: items, values: Optional<[Float]>.none))
            let step = SGDStep(factors: factors, rate: settings.learningRate, regularisation: settings.regularisation)
            let sorted = items.sorted()
            itemFactors.withUnsafeBufferPointer { y in
                x.withUnsafeMutableBufferPointer { xp in
                    for _ in 0..<settings.foldInEpochs * items.count {
                        let k = g.below(items.count)
                        guard let j = negative(excluding: sorted, &g) else { continue }
                        let i = Int(items[k])
                        step.applyToUser(xp.baseAddress!, positive: y.baseAddress! + i * factors, negative: y.baseAddress! + Int(j) * factors,
                                         biasDifference: itemBias[i] - itemBias[Int(j)], weight: weights[k])
                    }
                }
            }
            return x
        }

        func negative(excluding sorted: [Int32], _ g: inout SeededGenerator) -> Int32? {
            for _ in 0..<20 {
                let j: Int32
                if settings.popularityNegatives, let total = popularity.last, total > 0 {
                    let r = Int64(g.below(Int(total)))
                    // First item whose running total exceeds r.
                    var lo = 0, hi = popularity.count - 1
                    while lo < hi { let mid = (lo + hi) / 2; if popularity[mid] > r { hi = mid } else { lo = mid + 1 } }
                    j = Int32(lo)
                } else {
                    j = Int32(g.below(itemCount))
                }
                if !contains(sorted, sorted.indices, j) { return j }
            }
            return nil
        }

        public func score(_ user: UserProfile, into scores: inout [Float]) {
            LatentFactors.score(userVector(user), rows: itemFactors, bias: itemBias, factors: factors, into: &scores)
        }

        public func encode(to writer: inout ModelWriter) {
            writer.write(Int64(settings.factors))
            writer.write(Int64(settings.epochs))
            writer.write(settings.learningRate)
            writer.write(settings.regularisation)
            writer.write(UInt8(settings.popularityNegatives ? 1 : 0))
            writer.write(UInt8(settings.logPlayWeight ? 1 : 0))
            writer.write(Int64(settings.foldInEpochs))
            writer.write(settings.seed)
            writer.write(Int64(settings.threads))
            writer.write(userFactors)
            writer.write(itemFactors)
            writer.write(itemBias)
            writer.write(fingerprints)
            writer.write(popularity)
            writer.write(UInt8(playWeights ? 1 : 0))
            writer.write(meanPlayWeight)
        }

        public init(decoding reader: inout ModelReader) throws {
            var s = Settings()
            s.factors = try BPR.storedSetting(BPR.factors, try reader.read(Int64.self))
            s.epochs = Int(try reader.read(Int64.self))
            s.learningRate = try reader.read()
            s.regularisation = try reader.read()
            s.popularityNegatives = try reader.read(UInt8.self) != 0
            s.logPlayWeight = try reader.read(UInt8.self) != 0
            s.foldInEpochs = try BPR.storedSetting(BPR.foldInEpochs, try reader.read(Int64.self))
            s.seed = try reader.read()
            s.threads = try BPR.storedSetting(BPR.threads, try reader.read(Int64.self))
            settings = s
            userFactors = try reader.read()
            itemFactors = try reader.read()
            itemBias = try reader.read()
            fingerprints = try reader.read()
            popularity = try reader.read()
            playWeights = try reader.read(UInt8.self) != 0
            meanPlayWeight = try reader.read()
            guard s.factors >= 1, userFactors.count == fingerprints.count * s.factors, itemFactors.count == itemBias.count * s.factors,
                  popularity.count == itemBias.count else {
                throw ModelDecodingError(description: "bpr model: factor arrays do not match \(s.factors) factors")
            }
        }
    }
}

/// Binary search for `value` in the sorted `columns[range]`.
@inline(__always) func contains(_ columns: [Int32], _ range: Range<Int>, _ value: Int32) -> Bool {
    var lo = range.lowerBound, hi = range.upperBound
    while lo < hi {
        let mid = (lo + hi) >> 1
        let c = columns[mid]
        if c == value { return true }
        if c < value { lo = mid + 1 } else { hi = mid }
    }
    return false
}
