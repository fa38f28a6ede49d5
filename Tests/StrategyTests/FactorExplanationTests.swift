import Testing
import TimbreCore
import TimbreStrategies
import TimbreTestSupport
import BiasedMF
import BPR
import EASE
import IALS

/// Explanations of ease, ials, biased-mf, bpr and hybrid: hand-worked models (decoded from bytes
/// written here, so every weight is chosen) and fitted ones checked against a direct computation.
struct FactorExplanationTests {
    func score(_ model: any TrainedModel, _ profile: UserProfile, items: Int) -> [Float] {
        var scores = [Float](repeating: -.infinity, count: items)
        model.score(profile, into: &scores)
        return scores
    }

    /// B chosen by hand: the profile {0, 1} scores item 2 as B[0,2] + B[1,2] = 0.2 + 0.6, so item 1
    /// leads with 0.75 and item 0 has 0.25.
    @Test func easeSharesAreTheTermsOfBByHand() throws {
        var w = ModelWriter()
        w.write(Int64(3)); w.write(UInt8(0)); w.write([Int32(0), 1, 2])
        w.write([Float(0), 0.5, 0.2, 0.5, 0, 0.6, 0.2, 0.6, 0])
        var r = ModelReader(w.bytes)
        let model = try EASE.Model(decoding: &r)
        let profile = UserProfile(user: nil, items: [0, 1], ratings: [4, 1])
        #expect(abs(score(model, profile, items: 3)[2] - 0.8) < 1e-6)
        let shares = try #require(model.explain(profile, item: 2, limit: 5))
        #expect(shares.map(\.item) == [1, 0])
        #expect(abs(shares[0].share - 0.75) < 1e-6 && abs(shares[1].share - 0.25) < 1e-6)
        #expect(model.explain(profile, item: 2, limit: 1)!.map(\.item) == [1])
    }

    /// A fitted EASE scores linearly in the profile, so a rated item's term is exactly what the
    /// score loses without it: share × score must equal that difference.
    @Test func easeSharesAreLeaveOneOutDifferences() throws {
        let m = try TestData.randomRatings(users: 40, items: 25, density: 0.3, seed: 7)
        let model = try registeredStrategies.make("ease", overrides: ["lambda": "5"]).0.fitAny(TrainingData(ratings: m))
        var checked = 0
        for u in Int32(0)..<4 {
            let profile = m.profile(of: u)
            let full = score(model, profile, items: m.itemCount)
            for item in Int32(0)..<Int32(m.itemCount) where full[Int(item)].isFinite && !profile.items.contains(item) {
                let shares = try #require(model.explain(profile, item: item, limit: 100))
                #expect(abs(shares.reduce(0) { $0 + $1.share } - 1) < 1e-4)
                for c in shares {
                    var without = profile
                    let k = without.items.firstIndex(of: c.item)!
                    without.items.remove(at: k)
                    without.ratings.remove(at: k)
                    let rest = score(model, without, items: m.itemCount)[Int(item)]
                    #expect(abs(c.share * full[Int(item)] - (full[Int(item)] - (rest.isFinite ? rest : 0))) < 1e-4)
                    checked += 1
                }
            }
        }
        #expect(checked > 100)
    }

    func ialsModel(factors: Int, lambda: Float, itemRows: [Float]) throws -> IALS.Model {
        var w = ModelWriter()
        w.write(Int64(factors)); w.write(lambda)
        // Linear confidence c = 1 + 1·1 = 2 for every interaction (values unused).
        w.write(UInt8(0)); w.write(UInt8(0)); w.write(Float(1)); w.write(Float(1))
        w.write([UInt8](repeating: 1, count: itemRows.count / factors))
        w.write(itemRows)
        var r = ModelReader(w.bytes)
        return try IALS.Model(decoding: &r)
    }

    /// One factor, y = (1, 2, 3), λ = 1, c = 2: G = 1 + 4 + 9 + 1 = 15, the profile {0, 1} makes
    /// A = 15 + 1 + 4 = 20 and x = (2·1 + 2·2)/20 = 0.3, so item 2 scores 0.9. Its terms
    /// c_j·(y_2/A)·y_j are 2·0.15·1 = 0.3 and 2·0.15·2 = 0.6: shares 1/3 and 2/3.
    @Test func ialsSharesSplitTheFoldInByHand() throws {
        let model = try ialsModel(factors: 1, lambda: 1, itemRows: [1, 2, 3])
        let profile = UserProfile(user: nil, items: [0, 1], ratings: [1, 1])
        #expect(abs(score(model, profile, items: 3)[2] - 0.9) < 1e-5)
        let shares = try #require(model.explain(profile, item: 2, limit: 5))
        #expect(shares.map(\.item) == [1, 0])
        #expect(abs(shares[0].share - 2.0 / 3) < 1e-5 && abs(shares[1].share - 1.0 / 3) < 1e-5)
    }

    /// Two factors, random item rows: each share against c_j·y_iᵀA⁻¹y_j / score with A's 2 × 2
    /// inverse written out, and the score from the model's own solve.
    @Test func ialsSharesMatchADirectTwoFactorComputation() throws {
        var rng = SeededGenerator(seed: 11)
        let rows = (0..<16).map { _ in Float(rng.gaussian()) }
        let model = try ialsModel(factors: 2, lambda: 0.5, itemRows: rows)
        let profile = UserProfile(user: nil, items: [1, 3, 4], ratings: [1, 1, 1])
        var a = [0.5, 0, 0, 0.5] as [Double]
        for i in 0..<8 { for p in 0..<2 { for q in 0..<2 { a[p * 2 + q] += Double(rows[i * 2 + p] * rows[i * 2 + q]) } } }
        for j in profile.items { for p in 0..<2 { for q in 0..<2 { a[p * 2 + q] += Double(rows[Int(j) * 2 + p] * rows[Int(j) * 2 + q]) } } }
        let det = a[0] * a[3] - a[1] * a[2]
        let inverse = [a[3] / det, -a[1] / det, -a[2] / det, a[0] / det]
        let scores = score(model, profile, items: 8)
        for item in [0, 2, 5, 6, 7] {
            let yi = [Double(rows[item * 2]), Double(rows[item * 2 + 1])]
            let z = [inverse[0] * yi[0] + inverse[1] * yi[1], inverse[2] * yi[0] + inverse[3] * yi[1]]
            let terms = profile.items.map { j in 2 * (z[0] * Double(rows[Int(j) * 2]) + z[1] * Double(rows[Int(j) * 2 + 1])) }
            #expect(abs(terms.reduce(0, +) - Double(scores[item])) < 1e-4)
            let shares = try #require(model.explain(profile, item: Int32(item), limit: 3))
            for c in shares {
                let expected = terms[profile.items.firstIndex(of: c.item)!] / Double(scores[item])
                #expect(abs(Double(c.share) - expected) < 1e-3 * max(1, abs(expected)))
            }
        }
    }

    /// One factor, μ = 3, items [b, q] = [0.1, 1], [−0.2, 2], [0, 1], λ = 1, λ_b = 0.5, ratings 4 and
    /// 4.8 of items 0 and 1: residuals t = (0.9, 2.0), Z = [[1, 1], [1, 2]], A = ZᵀZ + diag(2·0.5, 1)
    /// = [[3, 3], [3, 6]], A⁻¹[1, 1] = (1/3, 0), so the terms for item 2 are 0.9/3 = 0.3 and
    /// 2.0/3 ≈ 0.667 (sum 0.967 = b_u + p_u·q_2): item 1 leads with 0.69.
    @Test func biasedMFSharesSplitTheRidgeSolveByHand() throws {
        var w = ModelWriter()
        w.write(Int64(1)); w.write(Int64(20)); w.write(Float(1)); w.write(Float(0.5)); w.write(UInt8(0))
        w.write(Int64(1)); w.write(Int64(0)); w.write(Float(1)); w.write(UInt64(0))
        w.write(Float(3))
        w.write([UInt64]())
        w.write(Int64(1)); w.write([Float]()); w.write([Float(0.1), 1, -0.2, 2, 0, 1])
        var r = ModelReader(w.bytes)
        let model = try BiasedMF.Model(decoding: &r)
        let profile = UserProfile(user: nil, items: [0, 1], ratings: [4, 4.8])
        let personal: Float = 0.3 + 2.0 / 3
        #expect(abs(try #require(model.predict(profile, item: 2)) - (3 + 0 + personal)) < 1e-5)
        let shares = try #require(model.explain(profile, item: 2, limit: 5))
        #expect(shares.map(\.item) == [1, 0])
        #expect(abs(shares[0].share - (2.0 / 3) / personal) < 1e-5 && abs(shares[1].share - 0.3 / personal) < 1e-5)
    }

    /// Fitted biased-mf with several Gibbs members: the terms of a folded-in profile add up to its
    /// estimate less μ + b_i (averaged over members), checked through predict on a profile the
    /// model never saw.
    @Test func biasedMFSharesAddUpToThePersonalPartOfAFoldIn() throws {
        let m = try TestData.randomRatings(users: 40, items: 25, density: 0.3, seed: 8)
        let model = try registeredStrategies.make("biased-mf", overrides: ["factors": "3", "samples": "4", "iterations": "5"]).0
            .fitAny(TrainingData(ratings: m)) as! BiasedMF.Model
        let profile = UserProfile(user: nil, items: [0, 3, 5, 9], ratings: [5, 1, 4, 2])
        let empty = UserProfile(user: nil, items: [], ratings: [])
        var checked = 0
        for item in Int32(10)..<20 {
            // With no ratings the fold-in is zero: the estimate is μ + b_i alone.
            let base = try #require(model.predict(empty, item: item)), estimate = try #require(model.predict(profile, item: item))
            let shares = try #require(model.explain(profile, item: item, limit: 10))
            let terms = shares.map { $0.share * (estimate - base) }
            #expect(shares.count == 4)
            #expect(abs(terms.reduce(0, +) - (estimate - base)) < 1e-4)
            checked += 1
        }
        #expect(checked == 10)
    }

    /// BPR: shares are the positive cosines between the rated items' factors and the item's, over
    /// their sum, computed here from the model's factors.
    @Test func bprSharesAreCosinesInFactorSpace() throws {
        let m = try TestData.randomRatings(users: 40, items: 25, density: 0.3, seed: 9)
        let model = try registeredStrategies.make("bpr", overrides: ["factors": "4", "epochs": "5", "threads": "1"]).0
            .fitAny(TrainingData(ratings: m)) as! BPR.Model
        let d = 4, y = model.itemFactors
        func cosine(_ a: Int32, _ b: Int32) -> Float {
            var dot: Float = 0, na: Float = 0, nb: Float = 0
            for k in 0..<d {
                dot += y[Int(a) * d + k] * y[Int(b) * d + k]
                na += y[Int(a) * d + k] * y[Int(a) * d + k]
                nb += y[Int(b) * d + k] * y[Int(b) * d + k]
            }
            return dot / (na * nb).squareRoot()
        }
        let profile = m.profile(of: 2)
        for item in Int32(0)..<Int32(m.itemCount) where !profile.items.contains(item) {
            let near = profile.items.map { ($0, cosine($0, item)) }.filter { $0.1 > 0 }
            let total = near.reduce(Float(0)) { $0 + $1.1 }
            let shares = try #require(model.explain(profile, item: item, limit: 100))
            #expect(shares.count == near.count)
            if let top = near.max(by: { $0.1 < $1.1 }) { #expect(shares.first?.item == top.0) }
            for c in shares { #expect(abs(c.share - near.first { $0.0 == c.item }!.1 / total) < 1e-5) }
        }
    }

    /// Hybrid of ease and popularity at weight 0.25: popularity cannot explain, so every share is
    /// 0.75 × ease's own share (ease fitted alone: its fit is deterministic) and they add up to 0.75.
    @Test func hybridSharesAreTheComponentsWeighted() throws {
        let m = try TestData.randomRatings(users: 40, items: 25, density: 0.3, seed: 10)
        let data = TrainingData(ratings: m)
        let hybrid = try registeredStrategies.make("hybrid", overrides: ["first": "ease(lambda=5)", "second": "popularity", "weight": "0.25"]).0.fitAny(data)
        let ease = try registeredStrategies.make("ease", overrides: ["lambda": "5"]).0.fitAny(data)
        let profile = m.profile(of: 1)
        for item in Int32(0)..<Int32(m.itemCount) where !profile.items.contains(item) {
            let own = try #require(ease.explain(profile, item: item, limit: 100))
            let mixed = try #require(hybrid.explain(profile, item: item, limit: 100))
            #expect(mixed.map(\.item) == own.map(\.item))
            for (a, b) in zip(mixed, own) { #expect(abs(a.share - 0.75 * b.share) < 1e-6) }
            if !own.isEmpty { #expect(abs(mixed.reduce(0) { $0 + $1.share } - 0.75) < 1e-4) }
        }
        let popular = try registeredStrategies.make("hybrid", overrides: ["first": "popularity", "second": "bias", "weight": "0.5"]).0.fitAny(data)
        #expect(popular.explain(profile, item: 0, limit: 3) == nil)
    }
}
