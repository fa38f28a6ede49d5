import Foundation
import LatentFactors
import TimbreCore
import TimbreNeural

/// Explicit-rating matrix factorisation with biases, r̂_ui = μ + b_u + b_i + p_u·q_i, fitted by
/// alternating least squares (as LensKit's BiasedMF) with the biases learnt jointly with the
/// factors: the user step solves [b_u, p_u] against the items' [1, q_i], the item step [b_i, q_i]
/// against the users' [1, p_u]. The factors' ridge weight is λ, or λ·n_u (the "weighted-λ" of Zhou
/// et al. 2008) with `regularisation-scaling=count`; the biases' is λ_b·n_u.
///
/// `samples` > 0 (the default) continues the ALS fit with that many Gibbs sweeps (every row drawn
/// from its Gaussian posterior given the other side, N(x̂, σ²A⁻¹), σ = noise-scale × the fit's
/// training RMSE) and averages the sweeps' predictions: a posterior mean, as in Salakhutdinov &
/// Mnih's BPMF (2008) but with fixed priors. On MovieLens-100K this is what takes 5-fold RMSE from
/// the MAP fit's 0.9095 to 0.904 (docs/evaluation.md). `members` > 1 averages fits from several seeds.
///
/// A user whose profile is not the one trained on (new, or with new ratings) is folded in by the
/// same ridge solve as the user step (the posterior mean, not a draw), against every member's
/// items: no retraining.
public struct BiasedMF: Strategy {
    public static let name = "biased-mf"
    public static let summary = "Matrix factorisation with user and item biases by ALS, averaged over Gibbs samples; rating predictions"
    public static let factors = Setting("factors", default: 16, range: 1...1024, help: "latent dimensions")
    public static let iterations = Setting("iterations", default: 20, range: 1...1000, help: "ALS sweeps (users then items) before sampling")
    public static let regularisation = Setting("regularisation", default: 8.0, above: 0, atMost: 1e9, help: "L2 weight λ on the factors")
    public static let regularisationScaling = Setting("regularisation-scaling", default: RegularisationScaling.constant,
                                               help: "λ as given, or times the row's rating count (ALS-WR)")
    public static let biasRegularisation = Setting("bias-regularisation", default: 0.02, above: 0, atMost: 1e9,
                                            help: "L2 weight on the biases, times the row's rating count")
    public static let samples = Setting("samples", default: 100, range: 0...1000,
                                 help: "Gibbs sweeps after the ALS fit, each a member whose predictions are averaged; 0 = the ALS fit alone")
    public static let noiseScale = Setting("noise-scale", default: 1.2, above: 0, atMost: 100,
                                    help: "sampling: the posterior's noise σ as a multiple of the ALS fit's training RMSE")
    public static let members = Setting("members", default: 1, range: 1...64, help: "independent fits (seeds seed, seed+1, …) whose predictions are averaged")
    public static let seed = Setting("seed", default: 0, range: 0...4_294_967_295, help: "initial item factors and sampling")
    public static let parameters = [factors.spec, iterations.spec, regularisation.spec, regularisationScaling.spec, biasRegularisation.spec,
                                    samples.spec, noiseScale.spec, members.spec, seed.spec]

    public enum RegularisationScaling: String, CaseIterable, SettingChoice { case constant, count }

    /// The settings as the fit uses them; defaults are the declared settings'.
    public struct Settings: Sendable, Equatable {
        public var factors = BiasedMF.factors.defaultValue
        public var iterations = BiasedMF.iterations.defaultValue
        public var regularisation = Float(BiasedMF.regularisation.defaultValue)
        public var countScaledRegularisation = BiasedMF.regularisationScaling.defaultValue == .count
        public var biasRegularisation = Float(BiasedMF.biasRegularisation.defaultValue)
        public var members = BiasedMF.members.defaultValue
        public var samples = BiasedMF.samples.defaultValue
        public var noiseScale = Float(BiasedMF.noiseScale.defaultValue)
        public var seed = UInt64(BiasedMF.seed.defaultValue)

        public init() {}
    }

    public let settings: Settings

    public init(settings: Settings) { self.settings = settings }

    public init(parameters p: Parameters) {
        var s = Settings()
        s.factors = p[Self.factors]
        s.iterations = p[Self.iterations]
        s.regularisation = Float(p[Self.regularisation])
        s.countScaledRegularisation = p[Self.regularisationScaling] == .count
        s.biasRegularisation = Float(p[Self.biasRegularisation])
        s.members = p[Self.members]
        s.samples = p[Self.samples]
        s.noiseScale = Float(p[Self.noiseScale])
        s.seed = UInt64(p[Self.seed])
        settings = s
    }

    public func fit(_ data: TrainingData) -> Model {
        let m = data.ratings
        let mean = m.globalMean
        let members = (0..<settings.members).flatMap { fitMember(m, mean: mean, seed: settings.seed &+ UInt64($0)) }
        let fingerprints = (0..<Int32(m.userCount)).map { LatentFactors.fingerprint(items: m.byUser.columns($0), values: m.byUser.values($0)) }
        return Model(settings: settings, mean: mean, members: members, fingerprints: fingerprints)
    }

    /// One ALS fit from `seed`; with `samples` > 0, that many Gibbs sweeps started from it instead,
    /// each sweep's state one member.
    func fitMember(_ m: RatingMatrix, mean: Float, seed: UInt64) -> [Member] {
        let d = settings.factors, w = d + 1
        var g = SeededGenerator(seed: seed)
        // Rows are [bias, factors…]. Items start random (σ 0.1) with zero bias; users are solved first.
        var items = [Float](repeating: 0, count: m.itemCount * w)
        for i in 0..<m.itemCount { for k in 1..<w { items[i * w + k] = Float(g.gaussian() * 0.1) } }
        var users = [Float](repeating: 0, count: m.userCount * w)
        let ridge = Ridge(factors: d, regularisation: settings.regularisation, biasRegularisation: settings.biasRegularisation,
                          countScaled: settings.countScaledRegularisation)
        for _ in 0..<settings.iterations {
            users = ridge.solveAll(m.byUser, against: items, mean: mean)
            items = ridge.solveAll(m.byItem, against: users, mean: mean)
        }
        guard settings.samples > 0 else { return [Member(users: users, items: items)] }
        // The noise level is the fit's own training residual.
        let noise = Member(users: users, items: items).trainingResidual(m, mean: mean) * settings.noiseScale
        return (0..<settings.samples).map { sweep in
            let stream = seed &* 0x2545_F491_4F6C_DD1D &+ UInt64(sweep) << 1
            users = ridge.solveAll(m.byUser, against: items, mean: mean, noise: noise, seed: stream)
            items = ridge.solveAll(m.byItem, against: users, mean: mean, noise: noise, seed: stream | 1)
            return Member(users: users, items: items)
        }
    }

    /// One side's ridge solves: for a row r with entries (c, v), the [bias, factors] minimising
    /// Σ (v − μ − bias_c − [1, f_c]·x)² + n_r·λ_b x₀² + s_r·λ Σ_{k≥1} x_k², where the other side's
    /// rows are [bias_c, f_c] and s_r is n_r (`regularisation-scaling=count`) or 1 (`constant`).
    public struct Ridge: Sendable {
        public let factors: Int
        public let regularisation: Float
        public let biasRegularisation: Float
        /// λ·n_r on the factors (else λ); the bias term is always λ_b·n_r.
        public let countScaled: Bool

        public init(factors: Int, regularisation: Float, biasRegularisation: Float, countScaled: Bool) {
            self.factors = factors
            self.regularisation = regularisation
            self.biasRegularisation = biasRegularisation
            self.countScaled = countScaled
        }

        /// Every row's solve; with `noise` σ > 0 a draw from the row's Gaussian posterior
        /// N(x̂, σ²A⁻¹) instead (Gibbs sampling), from a stream fixed by `seed` and the row alone,
        /// so the draws do not depend on how rows are spread over threads.
        func solveAll(_ rows: SparseRows, against other: [Float], mean: Float, noise: Float = 0, seed: UInt64 = 0) -> [Float] {
            let w = factors + 1
            return concurrentChunks(rows.rowCount) { range -> [Float] in
                var scratch = Scratch(width: w)
                var out = [Float](repeating: 0, count: range.count * w)
                for r in range {
                    let entries = rows.range(Int32(r))
                    var x = solve(columns: rows.columns[entries], values: rows.values[entries], against: other, mean: mean, &scratch)
                    if noise > 0, !entries.isEmpty {
                        var g = SeededGenerator(seed: seed ^ (UInt64(r) &* 0x9E37_79B9_7F4A_7C15))
                        scratch.addPosteriorNoise(to: &x, scale: noise, &g)
                    }
                    out.replaceSubrange((r - range.lowerBound) * w..<(r - range.lowerBound + 1) * w, with: x)
                }
                return out
            }.flatMap { $0 }
        }

        /// The solve for one row (a zero row when it has no entries in range of `other`).
        public func solve(columns: some Collection<Int32>, values: some Collection<Float>, against other: [Float], mean: Float) -> [Float] {
            var scratch = Scratch(width: factors + 1)
            return solve(columns: columns, values: values, against: other, mean: mean, &scratch)
        }

        func solve(columns: some Collection<Int32>, values: some Collection<Float>, against other: [Float], mean: Float,
                   _ s: inout Scratch) -> [Float] {
            let w = factors + 1, otherRows = other.count / w
            s.features.removeAll(keepingCapacity: true)
            s.targets.removeAll(keepingCapacity: true)
            for (c, v) in zip(columns, values) where c >= 0 && Int(c) < otherRows {
                let row = Int(c) * w
                s.targets.append(v - mean - other[row])
                s.features.append(1)
                s.features.append(contentsOf: other[row + 1..<row + w])
            }
            let n = s.targets.count
            guard n > 0 else { return [Float](repeating: 0, count: w) }
            // A = ZᵀZ + diag(n·λ_b, λ or n·λ, …) (upper triangle, row-major), b = Zᵀt.
            s.features.withUnsafeBufferPointer { z in
                s.gram.withUnsafeMutableBufferPointer { a in BLAS.gramUpper(z.baseAddress!, rows: n, columns: w, into: a.baseAddress!) }
                s.targets.withUnsafeBufferPointer { t in
                    s.rhs.withUnsafeMutableBufferPointer { b in
                        BLAS.multiply(z.baseAddress!, rows: n, columns: w, transposeA: true, by: t.baseAddress!, rows: n, columns: 1, into: b.baseAddress!)
                    }
                }
            }
            s.gram[0] += Float(n) * biasRegularisation
            let factorWeight = countScaled ? Float(n) * regularisation : regularisation
            for k in 1..<w { s.gram[k * w + k] += factorWeight }
            do {
                try s.gram.withUnsafeMutableBufferPointer { a in
                    try s.rhs.withUnsafeMutableBufferPointer { b in try BLAS.solvePositiveDefinite(a.baseAddress!, n: w, b.baseAddress!) }
                }
            } catch {
                // With λ > 0 the matrix is positive definite; a failure means non-finite inputs.
                preconditionFailure("biased-mf: ridge solve failed: \(error)")
            }
            return s.rhs
        }

        struct Scratch {
            /// After `solve`, `gram` holds the Cholesky factor L of A (LAPACK's lower triangle, column-
            /// major: L[j, k] at k·w + j, the row-major upper triangle `solvePositiveDefinite` was given);
            /// x + σ·L⁻ᵀε with ε standard normal has covariance σ²A⁻¹.
            mutating func addPosteriorNoise(to x: inout [Float], scale: Float, _ g: inout SeededGenerator) {
                let w = rhs.count
                var y = (0..<w).map { _ in Float(g.gaussian()) }
                for k in stride(from: w - 1, through: 0, by: -1) {
                    var v = y[k]
                    for j in k + 1..<w { v -= gram[k * w + j] * y[j] }
                    y[k] = v / gram[k * w + k]
                }
                for k in 0..<w { x[k] += scale * y[k] }
            }

            var features: [Float] = []
            var targets: [Float] = []
            var gram: [Float]
            var rhs: [Float]
            init(width: Int) {
                gram = [Float](repeating: 0, count: width * width)
                rhs = [Float](repeating: 0, count: width)
            }
        }
    }

    /// One fit: rows of [bias, factors…] for every user and item.
    public struct Member: Sendable {
        public let users: [Float]
        public let items: [Float]

        /// Root mean squared error on the ratings it was fitted to.
        func trainingResidual(_ m: RatingMatrix, mean: Float) -> Float {
            let w = users.count / max(m.userCount, 1)
            var sum = 0.0
            for u in 0..<Int32(m.userCount) {
                for k in m.byUser.range(u) {
                    let i = Int(m.byUser.columns[k]), x = Int(u) * w, y = i * w
                    var e = mean + users[x] + items[y]
                    for f in 1..<w { e += users[x + f] * items[y + f] }
                    sum += Double((m.byUser.values[k] - e) * (m.byUser.values[k] - e))
                }
            }
            return Float((sum / Double(max(m.ratingCount, 1))).squareRoot())
        }
    }

    public struct Model: TrainedModel {
        public let settings: Settings
        public let mean: Float
        public let members: [Member]
        /// Per training user: the fingerprint of the ratings their stored rows were solved from.
        let fingerprints: [UInt64]
        /// Version 2: the training scale predictions were clipped to (version 1) is gone; hosts clip.
        public static let formatVersion: UInt32 = 2

        public var scoresAreRatings: Bool { true }

        var width: Int { settings.factors + 1 }
        var itemCount: Int { members[0].items.count / width }

        init(settings: Settings, mean: Float, members: [Member], fingerprints: [UInt64]) {
            self.settings = settings
            self.mean = mean
            self.members = members
            self.fingerprints = fingerprints
        }

        var ridge: Ridge {
            Ridge(factors: settings.factors, regularisation: settings.regularisation, biasRegularisation: settings.biasRegularisation,
                  countScaled: settings.countScaledRegularisation)
        }

        /// Each member's [b_u, p_u]: stored when the profile is the one trained on, else solved
        /// from the profile with that member's items fixed (the user step of ALS).
        public func userRows(_ user: UserProfile) -> [[Float]] {
            if let u = user.user, Int(u) < fingerprints.count,
               fingerprints[Int(u)] == LatentFactors.fingerprint(items: user.items, values: user.ratings) {
                return members.map { Array($0.users[Int(u) * width..<(Int(u) + 1) * width]) }
            }
            return members.map { ridge.solve(columns: user.items, values: user.ratings, against: $0.items, mean: mean) }
        }

        /// μ + b_u + b_i + p_u·q_i, averaged over members, for every item.
        public func score(_ user: UserProfile, into scores: inout [Float]) {
            let rows = userRows(user)
            for i in 0..<itemCount { scores[i] = estimate(rows, item: i) }
        }

        public func predict(_ user: UserProfile, item: Int32) -> Float? {
            predict(userRows(user), item: item)
        }

        func predict(_ rows: [[Float]], item: Int32) -> Float? {
            guard item >= 0, Int(item) < itemCount else { return nil }
            return estimate(rows, item: Int(item))
        }

        /// The members' mean estimate for one item (one summation order for scores and predictions).
        @inline(__always) func estimate(_ rows: [[Float]], item: Int) -> Float {
            let w = width
            var sum: Float = 0
            for (member, x) in zip(members, rows) {
                sum += member.items.withUnsafeBufferPointer { q in
                    x.withUnsafeBufferPointer { xp in
                        let row = q.baseAddress! + item * w
                        return xp[0] + row[0] + LatentFactors.dot(xp.baseAddress! + 1, row + 1, w - 1)
                    }
                }
            }
            return mean + sum / Float(members.count)
        }

        public func encode(to writer: inout ModelWriter) {
            writer.write(Int64(settings.factors))
            writer.write(Int64(settings.iterations))
            writer.write(settings.regularisation)
            writer.write(settings.biasRegularisation)
            writer.write(UInt8(settings.countScaledRegularisation ? 1 : 0))
            writer.write(Int64(settings.members))
            writer.write(Int64(settings.samples))
            writer.write(settings.noiseScale)
            writer.write(settings.seed)
            writer.write(mean)
            writer.write(fingerprints)
            writer.write(Int64(members.count))
            for member in members {
                writer.write(member.users)
                writer.write(member.items)
            }
        }

        public init(decoding reader: inout ModelReader) throws {
            var s = Settings()
            s.factors = try BiasedMF.storedSetting(BiasedMF.factors, try reader.read(Int64.self))
            s.iterations = Int(try reader.read(Int64.self))
            s.regularisation = try reader.read()
            s.biasRegularisation = try reader.read()
            s.countScaledRegularisation = try reader.read(UInt8.self) != 0
            s.members = try BiasedMF.storedSetting(BiasedMF.members, try reader.read(Int64.self))
            s.samples = try BiasedMF.storedSetting(BiasedMF.samples, try reader.read(Int64.self))
            s.noiseScale = try reader.read()
            s.seed = try reader.read()
            mean = try reader.read()
            fingerprints = try reader.read()
            let count = try reader.read(Int64.self)
            guard s.factors >= 1, count >= 1, count == s.members * max(s.samples, 1) else {
                throw ModelDecodingError(description: "biased-mf model: \(s.factors) factors, \(count) members")
            }
            var members: [Member] = []
            for _ in 0..<count {
                let users: [Float] = try reader.read(), items: [Float] = try reader.read()
                guard users.count == fingerprints.count * (s.factors + 1), items.count % (s.factors + 1) == 0,
                      items.count == (members.first?.items.count ?? items.count) else {
                    throw ModelDecodingError(description: "biased-mf model: factor arrays do not match \(s.factors) factors")
                }
                members.append(Member(users: users, items: items))
            }
            settings = s
            self.members = members
        }
    }
}

extension BiasedMF.Model: BatchRatingPredictor {
    /// Folds the user in once for all the items.
    public func predict(_ user: UserProfile, items: [Int32]) -> [Float?] {
        let rows = userRows(user)
        return items.map { predict(rows, item: $0) }
    }
}
