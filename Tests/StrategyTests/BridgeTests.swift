import Foundation
import Testing
import TimbreCore
@testable import TimbreEvaluation
import TimbreStrategies
@testable import Bridge

@Suite struct RidgeMapTests {
    /// One feature x = 0, 1, 2 and two outputs (1, 3, 5) and (0, 1, 2), λ = 2. Centred: x̃ = −1, 0, 1,
    /// x̃ᵀx̃ = 2; x̃ᵀỹ = 4 and 2, so W = 4 / (2 + 2) = 1 and 2 / 4 = 0.5; means x̄ = 1, ȳ = (3, 1).
    /// At x = 3: (3 + 1·2, 1 + 0.5·2) = (5, 2); at x = 0: (2, 0.5).
    @Test func oneFeatureTwoOutputsByHand() throws {
        let map = try RidgeMap(inputs: [0, 1, 2], targets: [1, 0, 3, 1, 5, 2], count: 3, inputDimension: 1, outputDimension: 2, lambda: 2)
        #expect(zip(map.weights, [1, 0.5]).allSatisfy { abs($0 - $1) < 1e-6 })
        let predicted = map.predict([3, 0], count: 2)
        #expect(zip(predicted, [5, 2, 2, 0.5]).allSatisfy { abs($0 - $1) < 1e-5 }, "\(predicted)")
    }

    /// Items (1, 0), (0, 1), (1, 1) with targets 1, 2, 4 and λ = 1. x̄ = (2/3, 2/3), ȳ = 7/3;
    /// X̃ᵀX̃ = [[2/3, −1/3], [−1/3, 2/3]], X̃ᵀỹ = (1/3, 4/3); (X̃ᵀX̃ + I)⁻¹ = [[5/8, 1/8], [1/8, 5/8]],
    /// so W = (9/24, 21/24) = (0.375, 0.875), and at (0, 0): 7/3 − (0.375 + 0.875)·2/3 = 1.5.
    @Test func twoCorrelatedFeaturesByHand() throws {
        let map = try RidgeMap(inputs: [1, 0, 0, 1, 1, 1], targets: [1, 2, 4], count: 3, inputDimension: 2, outputDimension: 1, lambda: 1)
        #expect(abs(map.weights[0] - 0.375) < 1e-6 && abs(map.weights[1] - 0.875) < 1e-6, "\(map.weights)")
        #expect(abs(map.predict([0, 0], count: 1)[0] - 1.5) < 1e-5)
        // Several outputs share one factorisation (sposv with two right-hand sides): a second
        // output twice the first gets twice the weights, (0.75, 1.75).
        let two = try RidgeMap(inputs: [1, 0, 0, 1, 1, 1], targets: [1, 2, 2, 4, 4, 8], count: 3, inputDimension: 2, outputDimension: 2, lambda: 1)
        #expect(zip(two.weights, [0.375, 0.875, 0.75, 1.75]).allSatisfy { abs($0 - $1) < 1e-6 }, "\(two.weights)")
        // A larger λ shrinks the weights towards 0 and the prediction towards the mean 7/3.
        let stiff = try RidgeMap(inputs: [1, 0, 0, 1, 1, 1], targets: [1, 2, 4], count: 3, inputDimension: 2, outputDimension: 1, lambda: 1e6)
        #expect(abs(stiff.predict([0, 0], count: 1)[0] - 7.0 / 3) < 1e-3)
    }

    /// The λ = 2 map above (W = (1, 0.5), ȳ = (3, 1)) on its own items x = 0, 1, 2: true deviations
    /// from ȳ are (−2, −1), (0, 0), (2, 1), Σ‖·‖² = 10; predicted ones (−1, −0.5), (0, 0), (1, 0.5),
    /// Σ = 2.5; s = √(10 / 2.5) = 2. Widened by 2, at x = 3: (3 + 2·2, 1 + 2·1) = (7, 3), which is here
    /// the unshrunk λ = 0 fit (W = (2, 1)).
    @Test func spreadWidensDeviationsToTheTrueNormByHand() throws {
        let map = try RidgeMap(inputs: [0, 1, 2], targets: [1, 0, 3, 1, 5, 2], count: 3, inputDimension: 1, outputDimension: 2, lambda: 2)
        let s = RidgeMap.spread(predicted: map.predict([0, 1, 2], count: 3), truth: [1, 0, 3, 1, 5, 2], mean: map.outputMean)
        #expect(abs(s - 2) < 1e-5, "\(s)")
        let wide = map.widened(by: s)
        #expect(zip(wide.predict([3], count: 1), [7, 3]).allSatisfy { abs($0 - $1) < 1e-4 }, "\(wide.predict([3], count: 1))")
        #expect(wide.outputMean == map.outputMean && wide.inputMean == map.inputMean)
        // Predictions without deviation have nothing to widen.
        #expect(RidgeMap.spread(predicted: [3, 1, 3, 1], truth: [1, 0, 5, 2], mean: [3, 1]) == 1)
    }
}

/// Two genres, one-hot embeddings: users of genre A use the first `warm` items of genre A, users
/// of genre B those of genre B (even items A, odd items B). The last four items nobody used; they
/// have embeddings (two of each genre).
private func twoGenres(warm: Int = 16, users: Int = 40) throws -> TrainingData {
    let items = warm + 4
    var triples: [RatingTriple] = []
    var rng = SeededGenerator(seed: 7)
    for u in 0..<users {
        let genre = u % 2
        for i in stride(from: genre, to: warm, by: 2) where rng.unit() < 0.6 {
            triples.append(RatingTriple(user: Int32(u), item: Int32(i), value: 4))
        }
    }
    let ratings = try RatingMatrix(users: Vocabulary((0..<users).map { "u\($0)" }), items: Vocabulary((0..<items).map { "i\($0)" }),
                                   ratings: triples)
    let vectors: [Float] = (0..<items).flatMap { $0 % 2 == 0 ? [Float(1), 0] : [Float(0), 1] }
    return TrainingData(ratings: ratings, itemEmbeddings: EmbeddingTable(dimension: 2, vectors: vectors, present: .init(repeating: true, count: items)))
}

private func scores(_ model: any TrainedModel, _ profile: UserProfile, items: Int) -> [Float] {
    var s = [Float](repeating: .nan, count: items)
    model.score(profile, into: &s)
    return s
}

@Suite struct BridgeTests {
    @Test func newItemsAreScoredOnTheWarmScaleWithoutRetraining() throws {
        let data = try twoGenres()
        let items = data.ratings.itemCount
        let (bridge, _) = try registeredStrategies.make(try StrategySpec.parse("bridge:base=ials(factors=4,iterations=10),ridge=auto"))
        let model = try bridge.fitAny(data)
        let (ials, _) = try registeredStrategies.make(try StrategySpec.parse("ials(factors=4,iterations=10)"))
        let alone = try ials.fitAny(data)
        let profile = data.ratings.profile(of: 0) // a genre-A user
        let s = scores(model, profile, items: items), base = scores(alone, profile, items: items)
        // Warm items: exactly the factor model's scores (one scale).
        for i in 0..<16 { #expect(s[i] == base[i], "item \(i)") }
        // New items: finite, the user's genre first, inside the range of the warm scores of that genre.
        let newA = [s[16], s[18]], newB = [s[17], s[19]]
        #expect((newA + newB).allSatisfy { $0.isFinite } && base[16...].allSatisfy { $0 == -.infinity })
        #expect(newA.min()! > newB.max()!, "\(s)")
        let warmA = stride(from: 0, to: 16, by: 2).map { s[$0] }
        #expect(newA.allSatisfy { $0 >= warmA.min()! && $0 <= warmA.max()! }, "new \(newA), warm \(warmA)")

        // An embedding that appears after the fit gets its row from the stored map: the row an
        // item of that genre got at fit time, with no refit.
        let bridgeModel = try #require(model as? Bridge.Model)
        let rowA = Array(bridgeModel.itemFactorRows[16 * 4..<17 * 4]), fresh = bridgeModel.predictedFactors([1, 0])
        #expect(zip(rowA, fresh).allSatisfy { abs($0 - $1) < 1e-6 })

        // Stored and read back through the registry, it scores the same.
        let type = try registeredStrategies.named("bridge")
        let decoded = try registeredStrategies.decodeModel(of: type, encodeModel(model, of: type))
        #expect(scores(decoded, profile, items: items) == s)
    }

    @Test func bprBaseAndPopularityTarget() throws {
        let data = try twoGenres()
        let items = data.ratings.itemCount
        let (bpr, _) = try registeredStrategies.make(try StrategySpec.parse("bridge:base=bpr(factors=4,epochs=20)"))
        let s = scores(try bpr.fitAny(data), data.ratings.profile(of: 0), items: items)
        #expect(s.allSatisfy { $0.isFinite })
        // Popularity target with λ = 0 on one-hot genres: a new item's prediction is its genre's mean
        // log(1 + count) over the warm items, the same for every user.
        let (popularity, _) = try registeredStrategies.make(try StrategySpec.parse("bridge:target=popularity,ridge=0"))
        let model = try popularity.fitAny(data)
        let p0 = scores(model, data.ratings.profile(of: 0), items: items), p1 = scores(model, data.ratings.profile(of: 1), items: items)
        #expect(p0 == p1)
        let logCounts = (0..<16).map { Float(log1p(Double(data.ratings.byItem.count(Int32($0))))) }
        for i in 0..<16 { #expect(abs(p0[i] - logCounts[i]) < 1e-6) }
        let meanA = stride(from: 0, to: 16, by: 2).map { logCounts[$0] }.reduce(0, +) / 8
        #expect(abs(p0[16] - meanA) < 1e-4, "\(p0[16]) vs \(meanA)")
    }

    /// A stiff fixed λ shrinks the predicted popularity of new items towards the warm mean;
    /// calibrate=spread widens the map by one factor s > 1 (fitted on the validation items) and
    /// leaves warm items and the mean row alone.
    @Test func spreadCalibrationWidensNewItemsOnly() throws {
        let data = try twoGenres()
        let items = data.ratings.itemCount
        func fit(_ spec: String) throws -> Bridge.Model {
            let (bridge, _) = try registeredStrategies.make(try StrategySpec.parse(spec))
            return try #require(try bridge.fitAny(data) as? Bridge.Model)
        }
        let plain = try fit("bridge:target=popularity,ridge=20"), wide = try fit("bridge:target=popularity,ridge=20,calibrate=spread")
        #expect(plain.map.outputMean == wide.map.outputMean)
        let s = Double(wide.map.weights[0] / plain.map.weights[0])
        #expect(s > 1.5, "spread \(s)")
        #expect(abs(Double(wide.map.weights[1] / plain.map.weights[1]) - s) < 1e-4)
        let p = scores(plain, data.ratings.profile(of: 0), items: items), w = scores(wide, data.ratings.profile(of: 0), items: items)
        #expect(Array(p[..<16]) == Array(w[..<16]))
        let mean = Double(plain.map.outputMean[0])
        for i in 16..<items { #expect(abs((Double(w[i]) - mean) - s * (Double(p[i]) - mean)) < 1e-4, "item \(i)") }
    }

    @Test func settingsAndMissingEmbeddingsAreRefused() throws {
        for spec in ["bridge:ridge=-1", "bridge:ridge=lots", "bridge:base=popularity", "bridge:base=nothing", "bridge:validation=0.9", "bridge:target=audio", "bridge:calibrate=wide"] {
            #expect(throws: ParameterError.self, "\(spec)") { try registeredStrategies.make(try StrategySpec.parse(spec)) }
        }
        let data = try twoGenres()
        let (bridge, _) = try registeredStrategies.make("bridge")
        #expect(bridge.usesItemEmbeddings)
        #expect(throws: TrainingDataError.self) { try bridge.fitAny(TrainingData(ratings: data.ratings)) }
        // Embeddings only on items nobody used: nothing to learn the map from.
        let present = (0..<data.ratings.itemCount).map { $0 >= 16 }
        let sparse = TrainingData(ratings: data.ratings, itemEmbeddings: EmbeddingTable(dimension: 2, vectors: data.itemEmbeddings!.vectors, present: present))
        #expect(throws: TrainingDataError.self) { try bridge.fitAny(sparse) }
    }
}

@Suite struct NewItemsOnlyMetricsTests {
    /// Items i0…i4. Training: u0 used i0, i1; u1 used i2. Test: u0 used i3. So i3 and i4 are new.
    /// `fixed` scores i0…i4 as 9 8 5 1 2. At N = 2 the full ranking (i0, i1 excluded) is i2, i4:
    /// no hit, NDCG 0. Among new items only it is i4, i3: a hit at rank 2, NDCG 1/log2(3) = 0.630930,
    /// MRR 0.5. A second model scoring i3 above i4 gets new-items NDCG 1.
    @Test func handWorkedSplit() throws {
        let users = Vocabulary(["u0", "u1"]), items = Vocabulary((0..<5).map { "i\($0)" })
        let train = try RatingMatrix(users: users, items: items, ratings: [
            RatingTriple(user: 0, item: 0, value: 4), RatingTriple(user: 0, item: 1, value: 4), RatingTriple(user: 1, item: 2, value: 4)])
        let test = try RatingMatrix(users: users, items: items, ratings: [RatingTriple(user: 0, item: 3, value: 5)])
        let registry = StrategyRegistry([Fixed.self])
        let strategies = try ["a=fixed:scores=9 8 5 1 2", "b=fixed:scores=9 8 5 3 2"].map { try StrategyUnderTest.parse($0, in: registry) }
        let options = EvaluationOptions(cutoff: 2, ratingMetrics: false, adjustForMultipleComparisons: false)
        let folds = [TrainTestSplit(fold: 1, train: train, test: test)]
        let cold = try Evaluation(split: SplitSpec(.coldItems(folds: 2)), options: options)
            .run(TrainingData(ratings: train), folds: folds, description: "hand-worked", strategies: strategies, dataset: "tiny")
        let a = cold.strategies[0], b = cold.strategies[1]
        let full = try #require(a.metric("NDCG@2")), newA = try #require(a.metric("new NDCG@2"))
        let mrrA = try #require(a.metric("new MRR@2")), newB = try #require(b.metric("new NDCG@2"))
        #expect(full.value == 0)
        #expect(abs(newA.value - 1 / log2(3.0)) < 1e-9)
        #expect(mrrA.value == 0.5)
        #expect(newB.value == 1)
        #expect(a.metric("new novelty@2") == nil)
        #expect(b.metric("new NDCG@2")?.vsFirst != nil)
        // Other splits keep the one block.
        let holdout = try Evaluation(split: SplitSpec(.userHoldout(folds: 2, fraction: 0.2)), options: options)
            .run(TrainingData(ratings: train), folds: folds, description: "hand-worked", strategies: strategies, dataset: "tiny")
        #expect(holdout.strategies[0].metric("new NDCG@2") == nil && holdout.strategies[0].metric("NDCG@2") != nil)
    }
}
