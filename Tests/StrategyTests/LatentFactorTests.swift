import Foundation
import Testing
import TimbreCore
@testable import BiasedMF
import BPR
import TimbreStrategies

/// Users and items in `groups` clusters: a user interacts with a random half of their cluster's
/// items and nothing else. Returns the training matrix and, per user, held-out positives.
func plantedClusters(users: Int, items: Int, groups: Int, seed: UInt64) throws -> (train: RatingMatrix, heldOut: [[Int32]]) {
    var g = SeededGenerator(seed: seed)
    var triples: [RatingTriple] = [], heldOut = [[Int32]](repeating: [], count: users)
    for u in 0..<users {
        for i in 0..<items where i % groups == u % groups && g.unit() < 0.5 {
            if g.unit() < 0.2 { heldOut[u].append(Int32(i)) } else { triples.append(RatingTriple(user: Int32(u), item: Int32(i), value: 1)) }
        }
    }
    let m = try RatingMatrix(users: Vocabulary((0..<users).map { "u\($0)" }), items: Vocabulary((0..<items).map { "i\($0)" }), ratings: triples)
    return (m, heldOut)
}

/// Share of (held-out positive, item the user never touched) pairs the scores order correctly.
func auc(_ model: any TrainedModel, _ profiles: [UserProfile], _ heldOut: [[Int32]], items: Int) -> Double {
    var correct = 0.0, pairs = 0.0
    var scores = [Float](repeating: 0, count: items)
    for (profile, positives) in zip(profiles, heldOut) where !positives.isEmpty {
        model.score(profile, into: &scores)
        let touched = Set(profile.items + positives)
        for p in positives {
            for n in 0..<Int32(items) where !touched.contains(n) {
                pairs += 1
                correct += scores[Int(p)] > scores[Int(n)] ? 1 : scores[Int(p)] == scores[Int(n)] ? 0.5 : 0
            }
        }
    }
    return correct / pairs
}

@Suite struct BPRTests {
    /// The step must move every parameter by rate × the gradient of ln σ(x_uij) − λ/2 ‖θ‖², taken
    /// here by central differences in Double at the point before the step.
    @Test func sgdStepFollowsTheObjectiveGradient() {
        let d = 3, rate: Float = 0.1, lambda: Float = 0.02, weight: Float = 1
        // Parameter layout: x (3), y_i (3), y_j (3), b_i, b_j.
        let start: [Double] = [0.3, -0.2, 0.5, 0.1, 0.4, -0.3, -0.2, 0.25, 0.6, 0.05, -0.1]
        func objective(_ p: [Double]) -> Double {
            var z = p[9] - p[10]
            for k in 0..<d { z += p[k] * (p[3 + k] - p[6 + k]) }
            let logSigmoid = -log(1 + exp(-z))
            return Double(weight) * logSigmoid - Double(lambda) / 2 * p.reduce(0) { $0 + $1 * $1 }
        }
        var params = start.map(Float.init)
        params.withUnsafeMutableBufferPointer { p in
            let b = p.baseAddress!
            BPR.SGDStep(factors: d, rate: rate, regularisation: lambda)
                .apply(user: b, positive: b + 3, negative: b + 6, positiveBias: b + 9, negativeBias: b + 10, weight: weight)
        }
        for k in start.indices {
            var up = start, down = start
            up[k] += 1e-6
            down[k] -= 1e-6
            let gradient = (objective(up) - objective(down)) / 2e-6
            #expect(abs(Double(params[k]) - (start[k] + Double(rate) * gradient)) < 1e-5, "parameter \(k)")
        }
    }

    @Test func oneThreadAndASeedReproduceTheModelBitForBit() throws {
        let (m, _) = try plantedClusters(users: 60, items: 40, groups: 3, seed: 1)
        var s = BPR.Settings()
        s.factors = 8
        s.epochs = 5
        s.threads = 1
        s.seed = 7
        let a = BPR(settings: s).fit(TrainingData(ratings: m)), b = BPR(settings: s).fit(TrainingData(ratings: m))
        #expect(a.itemFactors == b.itemFactors && a.itemBias == b.itemBias)
        #expect(encodeModel(a) == encodeModel(b))
        s.seed = 8
        #expect(BPR(settings: s).fit(TrainingData(ratings: m)).itemFactors != a.itemFactors)
    }

    @Test func ranksHeldOutPositivesOfAPlantedStructureAboveNegatives() throws {
        let (m, heldOut) = try plantedClusters(users: 90, items: 60, groups: 3, seed: 2)
        var s = BPR.Settings()
        s.factors = 8
        s.threads = 2
        let model = BPR(settings: s).fit(TrainingData(ratings: m))
        let profiles = (0..<Int32(m.userCount)).map { m.profile(of: $0) }
        let trained = auc(model, profiles, heldOut, items: m.itemCount)
        #expect(trained > 0.9)
        // The same users as strangers (fold-in from their items, item factors fixed) do as well.
        let strangers = profiles.map { UserProfile(user: nil, items: $0.items, ratings: $0.ratings) }
        #expect(auc(model, strangers, heldOut, items: m.itemCount) > 0.9)
    }

    @Test func foldInIsAFunctionOfTheProfileAndServesChangedUsers() throws {
        let (m, heldOut) = try plantedClusters(users: 60, items: 40, groups: 2, seed: 3)
        var s = BPR.Settings()
        s.factors = 4
        s.epochs = 20
        s.threads = 1
        let model = BPR(settings: s).fit(TrainingData(ratings: m))
        let trained = m.profile(of: 5)
        // A training user with one more interaction is folded in, not served their stored vector.
        let grown = UserProfile(user: 5, items: (trained.items + [heldOut[5][0]]).sorted(), ratings: trained.ratings + [1])
        #expect(model.userVector(trained) != model.userVector(grown))
        #expect(model.userVector(grown) == model.foldIn(grown))
        #expect(model.foldIn(grown) == model.foldIn(UserProfile(user: nil, items: grown.items, ratings: grown.ratings)))
        // Stored and decoded models fold in alike.
        var reader = ModelReader(encodeModel(model))
        #expect(try BPR.Model(decoding: &reader).foldIn(grown) == model.foldIn(grown))
        #expect(model.foldIn(UserProfile(user: nil, items: [], ratings: [])) == [Float](repeating: 0, count: 4))
    }

    @Test func rejectsSettingsOutOfRange() throws {
        // Refused when the spec is resolved, naming strategy, setting and the declared range (the
        // strategy itself checks nothing: it only ever sees resolved parameters).
        for (name, value, range) in [("factors", "0", "1…1024"), ("epochs", "0", "1…10000"), ("learning-rate", "0", "> 0 and ≤ 1"),
                                     ("regularisation", "-1", "0…1000000000"), ("threads", "-1", "0…1024"), ("seed", "-2", "0…4294967295")] {
            let error = #expect(throws: ParameterError.self) { try registeredStrategies.make("bpr", overrides: [name: value]) }
            #expect(error?.description == "bpr: parameter '\(name)' must be in \(range), got \(value)")
        }
    }
}

/// rating = 3 + b_u + b_i + p_u·q_i with rank-2 factors, observed for ~60 % of cells.
func plantedLowRank(users: Int, items: Int, seed: UInt64) throws -> (train: RatingMatrix, test: [RatingTriple]) {
    var g = SeededGenerator(seed: seed)
    let p = (0..<users * 2).map { _ in Float(g.gaussian() * 0.6) }, q = (0..<items * 2).map { _ in Float(g.gaussian() * 0.6) }
    let bu = (0..<users).map { _ in Float(g.gaussian() * 0.3) }, bi = (0..<items).map { _ in Float(g.gaussian() * 0.3) }
    var train: [RatingTriple] = [], test: [RatingTriple] = []
    for u in 0..<users {
        for i in 0..<items where g.unit() < 0.6 {
            let r = 3 + bu[u] + bi[i] + p[2 * u] * q[2 * i] + p[2 * u + 1] * q[2 * i + 1]
            let t = RatingTriple(user: Int32(u), item: Int32(i), value: r)
            if g.unit() < 0.1 { test.append(t) } else { train.append(t) }
        }
    }
    let m = try RatingMatrix(users: Vocabulary((0..<users).map { "u\($0)" }), items: Vocabulary((0..<items).map { "i\($0)" }), ratings: train)
    return (m, test)
}

/// Solves the normal equations of one user's ridge problem, written out from its definition, by
/// Gaussian elimination in Double.
func directRidgeSolve(items: [Int32], ratings: [Float], itemRows: [Float], width w: Int, mean: Float,
                      regularisation: Double, biasRegularisation: Double, countScaled: Bool) -> [Double] {
    var a = [[Double]](repeating: [Double](repeating: 0, count: w + 1), count: w)
    for (i, r) in zip(items, ratings) {
        let row = Int(i) * w
        let z = [1.0] + (1..<w).map { Double(itemRows[row + $0]) }
        let target = Double(r) - Double(mean) - Double(itemRows[row])
        for j in 0..<w {
            for k in 0..<w { a[j][k] += z[j] * z[k] }
            a[j][w] += z[j] * target
        }
    }
    let n = Double(items.count)
    a[0][0] += n * biasRegularisation
    for k in 1..<w { a[k][k] += (countScaled ? n : 1) * regularisation }
    for c in 0..<w {
        let pivot = (c..<w).max { abs(a[$0][c]) < abs(a[$1][c]) }!
        a.swapAt(c, pivot)
        for r in 0..<w where r != c {
            let f = a[r][c] / a[c][c]
            for k in c...w { a[r][k] -= f * a[c][k] }
        }
    }
    return (0..<w).map { a[$0][w] / a[$0][$0] }
}

/// The ALS fit alone (no sampling) with count-scaled regularisation.
func alsSettings(factors: Int, iterations: Int = 20, regularisation: Float, biasRegularisation: Float) -> BiasedMF.Settings {
    var s = BiasedMF.Settings()
    s.factors = factors
    s.iterations = iterations
    s.regularisation = regularisation
    s.countScaledRegularisation = true
    s.biasRegularisation = biasRegularisation
    s.samples = 0
    return s
}

@Suite struct BiasedMFTests {
    @Test func foldInIsTheRidgeSolveWithItemsFixed() throws {
        let (m, test) = try plantedLowRank(users: 40, items: 30, seed: 4)
        var s = alsSettings(factors: 3, iterations: 5, regularisation: 0.05, biasRegularisation: 0.02)
        let model = BiasedMF(settings: s).fit(TrainingData(ratings: m))
        // User 3 with one more rating (from the test cells): no longer the trained profile.
        let extra = try #require(test.first { $0.user == 3 })
        var pairs = Array(zip(m.profile(of: 3).items, m.profile(of: 3).ratings)) + [(extra.item, extra.value)]
        pairs.sort { $0.0 < $1.0 }
        let grown = UserProfile(user: 3, items: pairs.map(\.0), ratings: pairs.map(\.1))
        let solved = model.userRows(grown)[0]
        let direct = directRidgeSolve(items: grown.items, ratings: grown.ratings, itemRows: model.members[0].items, width: 4,
                                      mean: model.mean, regularisation: 0.05, biasRegularisation: 0.02, countScaled: true)
        for k in 0..<4 { #expect(abs(Double(solved[k]) - direct[k]) < 1e-4, "component \(k)") }
        // With constant regularisation and sampling (the defaults' shape), every member's fold-in is
        // the ridge solve against that member's items.
        s.countScaledRegularisation = false
        s.regularisation = 2
        s.samples = 3
        let sampled = BiasedMF(settings: s).fit(TrainingData(ratings: m))
        #expect(sampled.members.count == 3)
        for (member, rows) in zip(sampled.members, sampled.userRows(grown)) {
            let direct = directRidgeSolve(items: grown.items, ratings: grown.ratings, itemRows: member.items, width: 4,
                                          mean: sampled.mean, regularisation: 2, biasRegularisation: 0.02, countScaled: false)
            for k in 0..<4 { #expect(abs(Double(rows[k]) - direct[k]) < 1e-4, "component \(k)") }
        }
        // The trained profile is served from the stored rows, which differ from the grown one's.
        #expect(model.userRows(m.profile(of: 3))[0] == Array(model.members[0].users[3 * 4..<4 * 4]))
        #expect(model.userRows(m.profile(of: 3))[0] != solved)
        // A stranger with the same ratings gets the same rows.
        #expect(model.userRows(UserProfile(user: nil, items: grown.items, ratings: grown.ratings))[0] == solved)
    }

    @Test func recoversAPlantedLowRankMatrix() throws {
        let (m, test) = try plantedLowRank(users: 80, items: 60, seed: 5)
        let s = alsSettings(factors: 4, iterations: 30, regularisation: 0.002, biasRegularisation: 0.002)
        let model = BiasedMF(settings: s).fit(TrainingData(ratings: m))
        var squared = 0.0, spread = 0.0
        let mean = m.globalMean
        for t in test {
            let p = try #require(model.predict(m.profile(of: t.user), item: t.item))
            squared += Double((p - t.value) * (p - t.value))
            spread += Double((mean - t.value) * (mean - t.value))
        }
        let rmse = (squared / Double(test.count)).squareRoot(), baseline = (spread / Double(test.count)).squareRoot()
        // The planted ratings have no noise: a rank-4 fit must get within 0.1 (the global mean is ~0.7 off).
        #expect(rmse < 0.1)
        #expect(baseline > 0.5)
    }

    /// The model's estimate is its score, unclipped; the host's `predictions(_:items:on:)` holds it
    /// to the scale (the one place predictions are clipped).
    @Test func predictionsEqualScoresAndOnlyTheHostClipsThem() throws {
        // Two enthusiasts rate everything 5 except one 1; the model's raw estimate for them leaves 1…5.
        var triples: [RatingTriple] = []
        for u in 0..<6 {
            for i in 0..<5 { triples.append(RatingTriple(user: Int32(u), item: Int32(i), value: u < 2 ? (i == 0 ? 1 : 5) : Float(1 + (u + i) % 3))) }
        }
        let m = try RatingMatrix(users: Vocabulary((0..<6).map { "u\($0)" }), items: Vocabulary((0..<6).map { "i\($0)" }), ratings: triples)
        let s = alsSettings(factors: 2, regularisation: 0.001, biasRegularisation: 0.001)
        let model = BiasedMF(settings: s).fit(TrainingData(ratings: m))
        var scores = [Float](repeating: 0, count: 6)
        var outside = 0
        for u in 0..<Int32(6) {
            let profile = m.profile(of: u)
            model.score(profile, into: &scores)
            for i in 0..<Int32(6) {
                let p = try #require(model.predict(profile, item: i))
                #expect(p == scores[Int(i)])
                #expect(model.predictions(profile, items: [i], on: 1...5) == [min(max(scores[Int(i)], 1), 5)])
                if scores[Int(i)] > 5 || scores[Int(i)] < 1 { outside += 1 }
            }
        }
        #expect(outside > 0)
        #expect(model.predict(m.profile(of: 0), item: 6) == nil)
    }

    @Test func membersAverageAndRoundTrip() throws {
        let (m, _) = try plantedLowRank(users: 30, items: 20, seed: 6)
        var s = BiasedMF.Settings()
        s.factors = 2
        s.iterations = 3
        s.samples = 2
        s.members = 3
        let model = BiasedMF(settings: s).fit(TrainingData(ratings: m))
        var one = s
        one.members = 1
        let singles = (0..<3).map { k -> BiasedMF.Model in one.seed = UInt64(k); return BiasedMF(settings: one).fit(TrainingData(ratings: m)) }
        var all = [Float](repeating: 0, count: 20), part = all, sum = all
        let profile = m.profile(of: 2)
        for single in singles {
            single.score(profile, into: &part)
            for i in 0..<20 { sum[i] += part[i] / 3 }
        }
        model.score(profile, into: &all)
        for i in 0..<20 { #expect(abs(all[i] - sum[i]) < 1e-4) }
        var reader = ModelReader(encodeModel(model))
        let decoded = try BiasedMF.Model(decoding: &reader)
        decoded.score(profile, into: &part)
        #expect(part == all)
    }

    /// Gibbs draws must scatter around the ridge solution with covariance σ²A⁻¹: checked on one
    /// row's system against A⁻¹ worked by hand (2×2 here: one factor plus the bias).
    @Test func posteriorDrawsHaveTheRidgeSystemsCovariance() {
        // Two items with rows [bias, factor] = [0, 1] and [0, −2]; ratings 1 and 3 around μ = 0.
        let ridge = BiasedMF.Ridge(factors: 1, regularisation: 0.5, biasRegularisation: 0.25, countScaled: false)
        var scratch = BiasedMF.Ridge.Scratch(width: 2)
        let mean = ridge.solve(columns: [0, 1], values: [1, 3], against: [0, 1, 0, -2], mean: 0, &scratch)
        // Z = [[1, 1], [1, −2]], A = ZᵀZ + diag(2·0.25, 0.5) = [[2.5, −1], [−1, 5.5]], det 12.75.
        let inverse: [[Double]] = [[5.5 / 12.75, 1 / 12.75], [1 / 12.75, 2.5 / 12.75]]
        // b = Zᵀt = [4, −5] → x̂ = A⁻¹b.
        #expect(abs(Double(mean[0]) - (5.5 * 4 - 5) / 12.75) < 1e-5 && abs(Double(mean[1]) - (4 - 2.5 * 5) / 12.75) < 1e-5)
        var g = SeededGenerator(seed: 11)
        let draws = 40_000, sigma: Float = 0.7
        var sum = [0.0, 0.0], cross = [[0.0, 0.0], [0.0, 0.0]]
        for _ in 0..<draws {
            var x = mean
            scratch.addPosteriorNoise(to: &x, scale: sigma, &g)
            let e = [Double(x[0] - mean[0]), Double(x[1] - mean[1])]
            for a in 0..<2 { sum[a] += e[a]; for b in 0..<2 { cross[a][b] += e[a] * e[b] } }
        }
        for a in 0..<2 {
            #expect(abs(sum[a] / Double(draws)) < 0.01)
            for b in 0..<2 {
                let expected = Double(sigma * sigma) * inverse[a][b]
                #expect(abs(cross[a][b] / Double(draws) - expected) < 0.05 * Double(sigma * sigma) * inverse[0][0], "covariance \(a),\(b)")
            }
        }
    }

    @Test func rejectsSettingsOutOfRange() throws {
        for (name, value, range) in [("factors", "0", "1…1024"), ("iterations", "0", "1…1000"), ("regularisation", "0", "> 0 and ≤ 1000000000"),
                                     ("bias-regularisation", "-1", "> 0 and ≤ 1000000000"), ("members", "65", "1…64"),
                                     ("samples", "-1", "0…1000"), ("noise-scale", "0", "> 0 and ≤ 100"), ("seed", "-1", "0…4294967295")] {
            let error = #expect(throws: ParameterError.self) { try registeredStrategies.make("biased-mf", overrides: [name: value]) }
            #expect(error?.description == "biased-mf: parameter '\(name)' must be in \(range), got \(value)")
        }
    }
}
