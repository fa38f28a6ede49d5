import Testing
import TimbreCore
import TimbreStrategies
import TimbreTestSupport

struct ExplanationTests {
    /// Implicit item-kNN's score is a sum over the user's items, so an item's term is what the
    /// score loses when that item leaves the profile: share × score must equal that difference.
    @Test func itemKNNSharesAreLeaveOneOutDifferences() throws {
        let m = try TestData.randomRatings(users: 40, items: 25, density: 0.3, seed: 3)
        let (strategy, _) = try registeredStrategies.make("item-knn", overrides: ["mode": "implicit", "k": "5"])
        let model = try strategy.fitAny(TrainingData(ratings: m))
        var checked = 0
        for u in Int32(0)..<5 {
            let profile = m.profile(of: u)
            var full = [Float](repeating: -.infinity, count: m.itemCount)
            model.score(profile, into: &full)
            for item in Int32(0)..<Int32(m.itemCount) where full[Int(item)] > -.infinity && !profile.items.contains(item) {
                let shares = try #require(model.explain(profile, item: item, limit: 100))
                #expect(abs(shares.reduce(0) { $0 + $1.share } - 1) < 1e-5)
                #expect(zip(shares, shares.dropFirst()).allSatisfy { $0.share >= $1.share })
                for c in shares {
                    var without = profile
                    let k = without.items.firstIndex(of: c.item)!
                    without.items.remove(at: k)
                    without.ratings.remove(at: k)
                    var less = [Float](repeating: -.infinity, count: m.itemCount)
                    model.score(without, into: &less)
                    let rest = less[Int(item)] == -.infinity ? 0 : less[Int(item)]
                    #expect(abs(c.share * full[Int(item)] - (full[Int(item)] - rest)) < 1e-4)
                    checked += 1
                }
                #expect(model.explain(profile, item: item, limit: 2)!.count == min(2, shares.count))
            }
        }
        #expect(checked > 50)
    }

    /// Explicit item-kNN: the weights of the k most similar rated neighbours in the weighted mean.
    @Test func explicitItemKNNSharesAreNeighbourWeights() throws {
        let m = try TestData.randomRatings(users: 40, items: 25, density: 0.3, seed: 4)
        let (strategy, _) = try registeredStrategies.make("item-knn", overrides: ["k": "3", "shrinkage": "0"])
        let model = try strategy.fitAny(TrainingData(ratings: m))
        let profile = m.profile(of: 0)
        var explained = 0
        for item in Int32(0)..<Int32(m.itemCount) where !profile.items.contains(item) && model.predict(profile, item: item) != nil {
            let shares = try #require(model.explain(profile, item: item, limit: 10))
            #expect(shares.count <= 3 && shares.allSatisfy { profile.items.contains($0.item) && $0.share > 0 })
            #expect(abs(shares.reduce(0) { $0 + $1.share } - 1) < 1e-5)
            explained += 1
        }
        #expect(explained > 5)
    }

    /// Content, worked by hand: unit vectors e0 = (1, 0), e1 = (0, 1) rated; target e2 = (3, 4)/5.
    /// Terms e0·e2 = 0.6 and e1·e2 = 0.8, so the shares are 0.8/1.4 (item 1) and 0.6/1.4 (item 0).
    @Test func contentSharesAreSimilaritiesToRatedItems() throws {
        let m = try RatingMatrix(users: Vocabulary(["u"]), items: Vocabulary(["a", "b", "c"]),
                                 ratings: [RatingTriple(user: 0, item: 0, value: 4), RatingTriple(user: 0, item: 1, value: 4)])
        let table = EmbeddingTable(dimension: 2, vectors: [1, 0, 0, 1, 3, 4], present: [true, true, true])
        let (strategy, _) = try registeredStrategies.make("content")
        let model = try strategy.fitAny(TrainingData(ratings: m, itemEmbeddings: table))
        let shares = try #require(model.explain(m.profile(of: 0), item: 2, limit: 5))
        #expect(shares.map(\.item) == [1, 0])
        #expect(abs(shares[0].share - 0.8 / 1.4) < 1e-6 && abs(shares[1].share - 0.6 / 1.4) < 1e-6)
    }

    /// Strategies without an explanation say so with nil (the protocol's default).
    @Test func popularityCannotExplain() throws {
        let m = try TestData.randomRatings(users: 40, items: 25, density: 0.3, seed: 5)
        let model = try registeredStrategies.make("popularity").0.fitAny(TrainingData(ratings: m))
        #expect(model.explain(m.profile(of: 0), item: 0, limit: 3) == nil)
    }
}
