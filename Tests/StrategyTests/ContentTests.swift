import Foundation
import Testing
import Content
import TimbreBaselines
import TimbreCore
import TimbreEvaluation
import TimbreStrategies

/// Five items with 2-d embeddings (item 4 has none) and two users:
///   item 0 (1, 0)   item 1 (0, 2) → unit (0, 1)   item 2 (3, 4) → (0.6, 0.8)   item 3 (1, −1) → (0.7071, −0.7071)
/// u0 rated item 0 = 5 and item 1 = 3; u1 rated item 3 = 4. Nobody rated item 2 (cold start).
private func handWorked() throws -> TrainingData {
    let ratings = try RatingMatrix(users: Vocabulary(["u0", "u1"]), items: Vocabulary(["i0", "i1", "i2", "i3", "i4"]), ratings: [
        RatingTriple(user: 0, item: 0, value: 5), RatingTriple(user: 0, item: 1, value: 3), RatingTriple(user: 1, item: 3, value: 4),
    ])
    let table = EmbeddingTable(dimension: 2, vectors: [1, 0, 0, 2, 3, 4, 1, -1, 0, 0], present: [true, true, true, true, false])
    return TrainingData(ratings: ratings, itemEmbeddings: table)
}

/// `ratings` with Gaussian item embeddings of `dimension`, none for the items `missing` picks.
private func randomlyEmbedded(_ ratings: RatingMatrix, dimension d: Int, seed: UInt64, missing: (Int) -> Bool) -> TrainingData {
    var rng = SeededGenerator(seed: seed)
    let items = ratings.itemCount
    let table = EmbeddingTable(dimension: d, vectors: (0..<items * d).map { _ in Float(rng.gaussian()) },
                               present: (0..<items).map { !missing($0) })
    return TrainingData(ratings: ratings, itemEmbeddings: table)
}

private func content(_ overrides: [String: String] = [:]) throws -> any Strategy {
    try registeredStrategies.make("content", overrides: overrides).0
}

private func scores(_ model: any TrainedModel, _ user: UserProfile, items: Int) -> [Float] {
    var s = [Float](repeating: .nan, count: items)
    model.score(user, into: &s)
    return s
}

/// Every value within `tolerance`, and −inf exactly where `expected` has it.
private func close(_ a: [Float], _ expected: [Float], _ tolerance: Float = 1e-5) -> Bool {
    a.count == expected.count && zip(a, expected).allSatisfy { x, e in e == -.infinity ? x == -.infinity : abs(x - e) <= tolerance }
}

@Suite struct ContentTests {
    let h = Float(0.5).squareRoot() // 0.70711

    /// Implicit: profile = v0 + v1 = (1, 1) → (h, h). Cosines: i0 h, i1 h, i2 1.4h, i3 0, i4 none.
    @Test func implicitScoresAreCosinesWithTheSumOfRatedItems() throws {
        let data = try handWorked()
        let model = try content().fitAny(data)
        #expect(close(scores(model, data.ratings.profile(of: 0), items: 5), [h, h, 1.4 * h, 0, -.infinity]))
    }

    /// Explicit: u0's mean is 4, weights +1 (i0) and −1 (i1): profile (1, −1) → (h, −h).
    /// Cosines: i0 h, i1 −h, i2 (0.6 − 0.8)h = −0.2h, i3 1.
    @Test func explicitWeightsAreRatingsMinusTheUsersMean() throws {
        let data = try handWorked()
        let model = try content(["mode": "explicit"]).fitAny(data)
        #expect(close(scores(model, data.ratings.profile(of: 0), items: 5), [h, -h, -0.2 * h, 1, -.infinity]))
        // All ratings equal say nothing about dislikes: profiled as in implicit mode.
        let flat = UserProfile(user: nil, items: [0, 1], ratings: [4, 4])
        let implicit = try content().fitAny(data)
        #expect(scores(model, flat, items: 5) == scores(implicit, flat, items: 5))
    }

    /// Item 2 against u0's rated items: cosines 0.6 (i0, rated 5) and 0.8 (i1, rated 3):
    /// (0.6·5 + 0.8·3) / 1.4 = 27/7; with k = 1 only i1 counts: 3. Item 3: i0 at h counts, i1 at −h
    /// does not (positive similarities only): 5.
    @Test func predictIsTheSimilarityWeightedMeanOfTheKMostSimilarRatedItems() throws {
        let data = try handWorked()
        let u0 = data.ratings.profile(of: 0)
        let model = try content().fitAny(data)
        #expect(abs(try #require(model.predict(u0, item: 2)) - 27.0 / 7) <= 1e-5)
        #expect(abs(try #require(model.predict(u0, item: 3)) - 5) <= 1e-5)
        #expect(model.predict(u0, item: 4) == nil, "no embedding: no basis")
        #expect(model.predict(UserProfile(user: nil, items: [4], ratings: [5]), item: 2) == nil, "no rated item with an embedding")
        // Only i1 (at −h) is rated: no positive neighbour.
        #expect(model.predict(UserProfile(user: nil, items: [1], ratings: [5]), item: 3) == nil)
        #expect(abs(try #require(try content(["k": "1"]).fitAny(data).predict(u0, item: 2)) - 3) <= 1e-5)
        #expect(abs(try #require(try content(["min-similarity": "0.7"]).fitAny(data).predict(u0, item: 2)) - 3) <= 1e-5)
    }

    /// Single and batch predictions both equal a direct loop over the formula, on random
    /// embeddings (some items without one) for every user and item, in both modes.
    @Test func predictionsMatchTheFormula() throws {
        let items = 50
        let data = randomlyEmbedded(SyntheticCatalog(users: 30, items: items, ratings: 500, seed: 4).generate(), dimension: 6, seed: 9,
                                    missing: { $0 % 9 == 2 })
        let (ratings, table) = (data.ratings, data.itemEmbeddings!)
        let all = Array(Int32(0)..<Int32(items))
        var compared = 0
        for (mode, k, minSimilarity) in [("implicit", 4, 0.0), ("explicit", 20, 0.2)] {
            let model = try content(["mode": mode, "k": String(k), "min-similarity": String(minSimilarity)]).fitAny(data)
            for u in 0..<Int32(ratings.userCount) {
                let profile = ratings.profile(of: u)
                let batch = model.predictAll(profile, items: all)
                for item in all {
                    let reference = NaiveReference.content(table, profile, item: item, k: k, minSimilarity: minSimilarity)
                    expectAgrees(model.predict(profile, item: item), reference, "\(mode) user \(u) item \(item)")
                    expectAgrees(batch[Int(item)], reference, "\(mode) batch, user \(u) item \(item)")
                    if reference != nil { compared += 1 }
                }
            }
        }
        #expect(compared > 1000)
    }

    @Test func unratedItemWithAnEmbeddingOutranksADissimilarRatedOne() throws {
        let data = try handWorked()
        let model = try content().fitAny(data)
        #expect(data.ratings.byItem.count(2) == 0 && data.ratings.byItem.count(3) > 0)
        let top = topN(scores(model, data.ratings.profile(of: 0), items: 5), n: 5, excluding: [0, 1])
        #expect(top.map(\.item) == [2, 3])
    }

    @Test func itemsWithoutAnEmbeddingAreNeverRecommended() throws {
        let data = try handWorked()
        for mode in ["implicit", "explicit"] {
            let model = try content(["mode": mode]).fitAny(data)
            for user in [data.ratings.profile(of: 0), data.ratings.profile(of: 1), UserProfile(user: nil, items: [2], ratings: [1])] {
                let top = topN(scores(model, user, items: 5), n: 5, excluding: user.items)
                #expect(!top.isEmpty && !top.contains { $0.item == 4 }, "\(mode)")
            }
            // Nothing to go on (no rated item has an embedding, or nothing rated): every item −inf, an empty list.
            for user in [UserProfile(user: nil, items: [4], ratings: [5]), UserProfile(user: nil, items: [], ratings: [])] {
                #expect(scores(model, user, items: 5).allSatisfy { $0 == -.infinity })
                #expect(topN(scores(model, user, items: 5), n: 5).isEmpty)
            }
        }
    }

    @Test func encodedModelScoresAndPredictsIdentically() throws {
        let items = 60
        let data = randomlyEmbedded(SyntheticCatalog(users: 40, items: items, ratings: 600, seed: 1).generate(), dimension: 8, seed: 7,
                                    missing: { $0 % 7 == 3 })
        let ratings = data.ratings
        for mode in ["implicit", "explicit"] {
            let model = try content(["mode": mode, "k": "5"]).fitAny(data)
            let decoded = try Content.decodeModel(encodeModel(model))
            for u in 0..<Int32(ratings.userCount) {
                let profile = ratings.profile(of: u)
                #expect(scores(model, profile, items: items) == scores(decoded, profile, items: items))
                let all = (0..<Int32(items)).map { $0 }
                #expect(model.predictAll(profile, items: all) == decoded.predictAll(profile, items: all))
            }
        }
        #expect(throws: ModelDecodingError.self) { try Content.decodeModel(Array(encodeModel(try content().fitAny(data)).dropLast(3))) }
    }

    @Test func fitWithoutUsableEmbeddingsFailsClearly() throws {
        let ratings = try handWorked().ratings
        let error = #expect(throws: TrainingDataError.self) { try content().fitAny(TrainingData(ratings: ratings)) }
        #expect(error?.description.contains("content needs item embeddings") == true)
        let short = EmbeddingTable(dimension: 2, vectors: [1, 0], present: [true])
        #expect(throws: TrainingDataError.self) { try content().fitAny(TrainingData(ratings: ratings, itemEmbeddings: short)) }
        let zeros = EmbeddingTable(dimension: 2, vectors: [Float](repeating: 0, count: 10), present: [Bool](repeating: true, count: 5))
        #expect(throws: TrainingDataError.self) { try content().fitAny(TrainingData(ratings: ratings, itemEmbeddings: zeros)) }
        #expect(throws: ParameterError.self) { try content(["k": "0"]) }
        #expect(throws: ParameterError.self) { try content(["min-similarity": "1.5"]) }
    }

    /// Items in 6 clusters (embedding = the cluster's direction plus noise); each user likes one
    /// cluster and rates mostly its items, plus a few popular items from anywhere. Content must rank
    /// held-out items better than popularity. Seeded, so the figures are fixed: NDCG@10 0.206 for
    /// content against 0.109 for popularity (which still wins inside a cluster, where the
    /// embeddings are only noise and the held-out items tend to be the popular ones).
    @Test func contentBeatsPopularityWhenTasteFollowsTheEmbeddings() throws {
        let (clusterCount, perCluster, d, userCount) = (6, 40, 16, 300)
        let itemCount = clusterCount * perCluster
        var rng = SeededGenerator(seed: 42)
        let centres = (0..<clusterCount).map { _ in (0..<d).map { _ in Float(rng.gaussian()) } }
        var vectors: [Float] = []
        for i in 0..<itemCount { vectors += centres[i / perCluster].map { $0 + Float(0.5 * rng.gaussian()) } }
        // Zipf-like popularity inside and across clusters: the first items of each cluster are
        // the popular ones, and popular items from other clusters get rated too.
        func pick(from range: Range<Int>) -> Int {
            range.lowerBound + min(range.count - 1, Int(Double(range.count) * pow(rng.unit(), 2)))
        }
        var triples: [RatingTriple] = []
        for u in 0..<userCount {
            let liked = rng.below(clusterCount)
            var rated = Set<Int>()
            while rated.count < 20 {
                let item = rng.unit() < 0.8 ? pick(from: liked * perCluster..<(liked + 1) * perCluster) : pick(from: 0..<itemCount)
                guard rated.insert(item).inserted else { continue }
                let value: Float = item / perCluster == liked ? 4 + Float(rng.below(2)) : 1 + Float(rng.below(3))
                triples.append(RatingTriple(user: Int32(u), item: Int32(item), value: value))
            }
        }
        let ratings = try RatingMatrix(users: Vocabulary((0..<userCount).map { "u\($0)" }),
                                       items: Vocabulary((0..<itemCount).map { "i\($0)" }), ratings: triples)
        let data = TrainingData(ratings: ratings, itemEmbeddings: EmbeddingTable(dimension: d, vectors: vectors,
                                                                                 present: [Bool](repeating: true, count: itemCount)))
        let report = try Evaluation(split: SplitSpec(.userHoldout(folds: 5, fraction: 0.2), seed: 0),
                                    options: EvaluationOptions(bootstrapSamples: 200))
            .run(data, strategies: ["popularity", "content"].map { try .registered($0, in: registeredStrategies) }, dataset: "clusters")
        let popularity = try #require(report.strategies[0].metric("NDCG@10"))
        let contentNDCG = try #require(report.strategies[1].metric("NDCG@10"))
        #expect(contentNDCG.value > 1.5 * popularity.value, "content \(contentNDCG.value) vs popularity \(popularity.value)")
        #expect((contentNDCG.vsFirst?.pValue ?? 1) < 0.05)
        // It also predicts ratings, from the embeddings alone.
        #expect(report.strategies[1].metric("RMSE") != nil)

        // Item cold start: every rating of a test fold's items is held out, so popularity counts
        // them 0 and ranks them below every item it has seen (NDCG@10 0); content ranks them from
        // their embeddings alone (0.210 on this seed).
        let cold = try Evaluation(split: SplitSpec(.coldItems(folds: 5), seed: 0), options: EvaluationOptions(ratingMetrics: false))
            .run(data, strategies: ["popularity", "content"].map { try .registered($0, in: registeredStrategies) }, dataset: "clusters")
        let coldPopularity = try #require(cold.strategies[0].metric("NDCG@10")), coldContent = try #require(cold.strategies[1].metric("NDCG@10"))
        #expect(coldContent.value > 0.15 && coldPopularity.value < 0.01, "cold items: content \(coldContent.value) vs popularity \(coldPopularity.value)")
        #expect((coldContent.vsFirst?.pValue ?? 1) < 0.05)
        // A table that does not match the items is refused, not misread.
        let wrong = TrainingData(ratings: ratings, itemEmbeddings: EmbeddingTable(dimension: 1, vectors: [1], present: [true]))
        #expect(throws: EvaluationError.self) {
            try Evaluation(split: SplitSpec(.userHoldout(folds: 2, fraction: 0.2))).run(wrong, strategies: [.registered("content", in: registeredStrategies)], dataset: "x")
        }
    }
}
