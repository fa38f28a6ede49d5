import Testing
import TimbreCore
import TimbreEvaluation
import TimbreStrategies
import Neighbourhood
import TimbreBaselines
import UserKNN
import ItemKNN

/// The 4 users × 5 items matrix the hand calculations below use ("–" = not rated):
///
///          i0  i1  i2  i3  i4
///     u0    5   3   4   –   1
///     u1    4   –   5   2   –
///     u2    –   2   3   5   4
///     u3    1   5   –   4   –
func paperMatrix() throws -> RatingMatrix {
    let rows: [[Float?]] = [[5, 3, 4, nil, 1], [4, nil, 5, 2, nil], [nil, 2, 3, 5, 4], [1, 5, nil, 4, nil]]
    var triples: [RatingTriple] = []
    for (u, row) in rows.enumerated() {
        for (i, r) in row.enumerated() { if let r { triples.append(.init(user: Int32(u), item: Int32(i), value: r)) } }
    }
    return try RatingMatrix(users: Vocabulary(["u0", "u1", "u2", "u3"]), items: Vocabulary(["i0", "i1", "i2", "i3", "i4"]),
                            ratings: triples)
}

func neighbour(_ model: ItemKNN.Model, _ item: Int, _ other: Int32) -> Float? {
    let r = model.neighbours.range(item)
    return zip(model.neighbours.columns[r], model.neighbours.values[r]).first { $0.0 == other }?.1
}

@Suite struct SimilarityTests {
    @Test func rawCosineUsesFullVectorNorms() throws {
        let settings = NeighbourhoodSettings(k: 4, similarity: .cosine, centring: .none, mode: .explicit)
        let model = try ItemKNN(settings, kept: 4).fit(TrainingData(ratings: paperMatrix()))
        // i0 = (5, 4, –, 1), i2 = (4, 5, 3, –): co-raters u0, u1 give 5·4 + 4·5 = 40;
        // ‖i0‖ = √(25+16+1) = √42, ‖i2‖ = √(16+25+9) = √50; 40 / √2100 = 0.872872.
        #expect(abs(neighbour(model, 0, 2)! - 0.872872) < 1e-5)
        // i1 = (3, –, 2, 5): co-raters u0, u3 give 15 + 5 = 20; √38 · √42 = 39.950; 0.500626.
        #expect(abs(neighbour(model, 0, 1)! - 0.500626) < 1e-5)
        // i4 = (1, –, 4, –): only u0, 5·1 = 5; 5 / √(42·17) = 0.187120.
        #expect(abs(neighbour(model, 0, 4)! - 0.187120) < 1e-5)
        // Neighbour lists are sorted, most similar first.
        let sims = Array(model.neighbours.values[model.neighbours.range(0)])
        #expect(sims == sims.sorted(by: >))
    }

    @Test func coRatedPearsonAndMSD() {
        // u0 and u2 share i1, i2, i4: u0 = (3, 4, 1), u2 = (2, 3, 4).
        var sums = PairSums(capacity: 4, withMoments: true)
        for (a, b) in [(Float(3), Float(2)), (4, 3), (1, 4)] { sums.add(2, a, b) }
        // Means 8/3 and 3; deviations (1/3, 4/3, −5/3) and (−1, 0, 1):
        // Σ products = −1/3 − 5/3 = −2; Σ squares 42/9 and 2; r = −2 / √(42/9 · 2) = −0.654654.
        #expect(abs(sums.similarity(2, .pearson, normA: 0, normB: 0, shrinkage: 0) + 0.654654) < 1e-5)
        // Squared differences 1 + 1 + 9 = 11, msd = 11/3, similarity 1 / (1 + 11/3) = 3/14.
        #expect(abs(sums.similarity(2, .msd, normA: 0, normB: 0, shrinkage: 0) - 3.0 / 14) < 1e-6)
        // Shrinkage with n = 3 co-ratings multiplies by (3−1)/(3−1+2) = 1/2.
        #expect(abs(sums.similarity(2, .msd, normA: 0, normB: 0, shrinkage: 2) - 3.0 / 28) < 1e-6)
        #expect(sums.touched.count == 1)
        sums.reset()
        #expect(sums.touched.isEmpty && sums.coCount(2) == 0)
    }

    @Test func userKNNExplicitPredictionByHand() throws {
        let m = try paperMatrix()
        let settings = NeighbourhoodSettings(k: 3, similarity: .msd, centring: .none, mode: .explicit)
        let model = try UserKNN(settings).fit(TrainingData(ratings: m))
        // u1 against the raters of i1 (msd over co-rated items):
        //   u0: i0 4/5, i2 5/4 → msd (1+1)/2 = 1 → 1/2;  u2: i2 5/3, i3 2/5 → (4+9)/2 → 1/7.5 = 2/15;
        //   u3: i0 4/1, i3 2/4 → (9+4)/2 → 2/15.
        // r̂ = (½·3 + 2/15·2 + 2/15·5) / (½ + 4/15) = 2.433333 / 0.766667 = 3.173913.
        let p = model.predict(m.profile(of: 1), item: 1)
        #expect(p != nil && abs(p! - 3.173913) < 1e-4)
    }

    @Test func itemKNNExplicitPredictionByHand() throws {
        let m = try paperMatrix()
        let settings = NeighbourhoodSettings(k: 2, similarity: .cosine, centring: .none, mode: .explicit)
        let model = try ItemKNN(settings, kept: 4).fit(TrainingData(ratings: m))
        // u2 rated i1 (2), i2 (3), i3 (5), i4 (4); i0's two nearest among them are i2 (0.872872)
        // and i1 (0.500626): (0.872872·3 + 0.500626·2) / 1.373498 = 2.635510.
        let p = model.predict(m.profile(of: 2), item: 0)
        #expect(p != nil && abs(p! - 2.635510) < 1e-4)
        // An item nobody rated has no neighbours: no prediction, so the evaluator falls back.
        let lonely = try RatingMatrix(users: m.users, items: Vocabulary(m.items.ids + ["i5"]), ratings: m.triples)
        let model2 = try ItemKNN(settings, kept: 4).fit(TrainingData(ratings: lonely))
        #expect(model2.predict(lonely.profile(of: 2), item: 5) == nil)
    }

    @Test func implicitScoresSumSimilarities() throws {
        let m = try paperMatrix()
        let settings = NeighbourhoodSettings(k: 4, similarity: .cosine, centring: .none, mode: .implicit)
        // Binary cosine between users: u1 = {i0, i2, i3}, u3 = {i0, i1, i3} share 2 → 2/(√3·√3) = 2/3;
        // u0 = {i0,i1,i2,i4} shares i0, i2 with u1 → 2/(√3·√4) = 0.577350; u2 = {i1..i4} shares i2, i3 → 0.577350.
        // i1 is rated by u0, u2, u3: score 0.577350 + 0.577350 + 2/3 = 1.821367; i4 by u0, u2: 1.154701.
        let model = try UserKNN(settings).fit(TrainingData(ratings: m))
        var scores = [Float](repeating: 0, count: 5)
        model.score(m.profile(of: 1), into: &scores)
        #expect(abs(scores[1] - 1.821367) < 1e-5)
        #expect(abs(scores[4] - 1.154701) < 1e-5)
        #expect(topN(scores, n: 2, excluding: m.profile(of: 1).items).map(\.item) == [1, 4])
    }

    @Test func implicitModeRejectsRatingSimilarities() {
        #expect(throws: ParameterError.self) {
            try registeredStrategies.make("item-knn", overrides: ["mode": "implicit", "similarity": "pearson"])
        }
    }
}

@Suite struct NeighbourhoodAgainstNaiveLoops {
    /// User-kNN's single and batch predictions both equal a direct loop over the formula, for
    /// training users (who are not their own neighbours) and a new user, with shrinkage, a small k
    /// and min-neighbours > 1 so that every rule is exercised.
    @Test func userKNNPredictionsMatchTheFormula() throws {
        let m = SyntheticCatalog(users: 120, items: 60, ratings: 2000, seed: 11).generate()
        let settings = NeighbourhoodSettings(k: 5, minNeighbours: 2, similarity: .cosine, shrinkage: 3, centring: .mean, mode: .explicit)
        let model = try UserKNN(settings).fit(TrainingData(ratings: m))
        let items = Array(Int32(0)..<Int32(m.itemCount))
        let newcomer = m.profile(of: 7)
        var profiles = stride(from: Int32(0), to: Int32(m.userCount), by: 13).map { m.profile(of: $0) }
        profiles.append(UserProfile(user: nil, items: newcomer.items, ratings: newcomer.ratings.map { 6 - $0 }))
        var compared = 0
        for profile in profiles {
            let batch = model.predictAll(profile, items: items)
            for item in items {
                let reference = NaiveReference.userKNN(m, profile, item: item, k: 5, minNeighbours: 2, shrinkage: 3)
                expectAgrees(model.predict(profile, item: item), reference, "user \(String(describing: profile.user)) item \(item)")
                expectAgrees(batch[Int(item)], reference, "batch, user \(String(describing: profile.user)) item \(item)")
                if reference != nil { compared += 1 }
            }
        }
        #expect(compared > 200, "enough predictions exist to compare")
    }

    /// Strategies return their estimate as it is; the host clips it to the scale, once.
    @Test func anEstimatePastTheScaleIsClippedByTheHostOnly() throws {
        // u1: i0 = 5, i1 = 3, i2 = 5 (mean 13/3, i2 residual 2/3); u0: i0 = 5, i1 = 4 (mean 4.5).
        // Centred, u0 = (0.5, −0.5) and u1 = (2/3, −4/3, 2/3) correlate positively, so with k = 1
        // r̂(u0, i2) = 4.5 + 2/3 = 5.1667 on a 3…5 scale.
        let m = try RatingMatrix(users: Vocabulary(["u0", "u1"]), items: Vocabulary(["i0", "i1", "i2"]), ratings: [
            RatingTriple(user: 0, item: 0, value: 5), RatingTriple(user: 0, item: 1, value: 4),
            RatingTriple(user: 1, item: 0, value: 5), RatingTriple(user: 1, item: 1, value: 3), RatingTriple(user: 1, item: 2, value: 5),
        ])
        let model = try UserKNN(NeighbourhoodSettings(k: 1, similarity: .cosine, centring: .mean, mode: .explicit)).fit(TrainingData(ratings: m))
        let raw = try #require(model.predict(m.profile(of: 0), item: 2))
        #expect(abs(raw - (4.5 + 2.0 / 3)) < 1e-5)
        #expect(m.valueRange == 3...5)
        #expect(model.predictions(m.profile(of: 0), items: [2, 1], on: try #require(m.valueRange)) == [5, model.predict(m.profile(of: 0), item: 1)])
        #expect(model.scoresAreRatings)
    }
}

@Suite struct ModelCodingTests {
    /// A saved and reloaded model must score and predict exactly as the one in memory.
    @Test(arguments: ["user-knn", "item-knn"], [["mode": "explicit"], ["mode": "implicit", "similarity": "cosine", "centring": "none"]])
    func saveLoadRoundTrip(name: String, overrides: [String: String]) throws {
        let m = SyntheticCatalog(users: 300, items: 200, ratings: 6000, seed: 3).generate()
        let (strategy, _) = try registeredStrategies.make(name, overrides: overrides)
        let model = try strategy.fitAny(TrainingData(ratings: m))
        let bytes = encodeModel(model)
        let loaded = try type(of: strategy).decodeModel(bytes)
        #expect(encodeModel(loaded) == bytes)
        expectSameOutputs(model, loaded, on: m, every: 37, items: [0, 5, 50, 199])
    }
}
