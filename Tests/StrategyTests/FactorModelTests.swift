import Foundation
import Testing
import TimbreCore
import TimbreStrategies
@testable import EASE
@testable import IALS

// MARK: - naive references in Double

/// Gauss–Jordan inverse with partial pivoting, n × n row-major.
private func gaussJordanInverse(_ a: [Double], n: Int) -> [Double] {
    var m = a, inv = [Double](repeating: 0, count: n * n)
    for i in 0..<n { inv[i * n + i] = 1 }
    for c in 0..<n {
        let pivot = (c..<n).max { abs(m[$0 * n + c]) < abs(m[$1 * n + c]) }!
        for j in 0..<n { m.swapAt(c * n + j, pivot * n + j); inv.swapAt(c * n + j, pivot * n + j) }
        let d = m[c * n + c]
        for j in 0..<n { m[c * n + j] /= d; inv[c * n + j] /= d }
        for r in 0..<n where r != c {
            let f = m[r * n + c]
            for j in 0..<n { m[r * n + j] -= f * m[c * n + j]; inv[r * n + j] -= f * inv[c * n + j] }
        }
    }
    return inv
}

/// Solves a x = b for symmetric positive definite a by a textbook Cholesky a = L Lᵀ.
private func choleskySolve(_ a: [Double], _ b: [Double], n: Int) -> [Double] {
    var l = [Double](repeating: 0, count: n * n)
    for i in 0..<n {
        for j in 0...i {
            var s = a[i * n + j]
            for p in 0..<j { s -= l[i * n + p] * l[j * n + p] }
            l[i * n + j] = i == j ? s.squareRoot() : s / l[j * n + j]
        }
    }
    var y = b
    for i in 0..<n { for p in 0..<i { y[i] -= l[i * n + p] * y[p] }; y[i] /= l[i * n + i] }
    var x = y
    for i in (0..<n).reversed() { for p in (i + 1)..<n { x[i] -= l[p * n + i] * x[p] }; x[i] /= l[i * n + i] }
    return x
}

private func matrix(_ rows: [[Float]], items: Int) throws -> RatingMatrix {
    var triples: [RatingTriple] = []
    for (u, row) in rows.enumerated() {
        for (i, v) in row.enumerated() where v != 0 { triples.append(RatingTriple(user: Int32(u), item: Int32(i), value: v)) }
    }
    return try RatingMatrix(users: Vocabulary((0..<rows.count).map { "u\($0)" }), items: Vocabulary((0..<items).map { "i\($0)" }),
                            ratings: triples)
}

private func scores(_ model: any TrainedModel, _ profile: UserProfile, items: Int) -> [Float] {
    var s = [Float](repeating: .nan, count: items)
    model.score(profile, into: &s)
    return s
}

/// A seeded random interaction matrix, about `density` of the cells rated 1–5.
private func randomMatrix(users: Int, items: Int, density: Double, seed: UInt64) throws -> RatingMatrix {
    var rng = SeededGenerator(seed: seed)
    return try matrix((0..<users).map { _ in (0..<items).map { _ in rng.unit() < density ? Float(1 + rng.below(5)) : 0 } }, items: items)
}

// MARK: - EASE

@Suite struct EASETests {
    /// Users × items (1 = interacted): u0 {i0, i1}, u1 {i1, i2}, u2 {i0, i1, i2}, u3 {i0}.
    /// XᵀX = [[3 2 1] [2 3 2] [1 2 2]]; with λ = 1, G = [[4 2 1] [2 4 2] [1 2 3]], det 24, and
    /// G⁻¹ = (1/24)[[8 −4 0] [−4 11 −6] [0 −6 12]]. B_ij = −P_ij / P_jj:
    /// B = [[0 4/11 0] [1/2 0 1/2] [0 6/11 0]].
    let rows: [[Float]] = [[5, 3, 0], [0, 4, 2], [1, 1, 1], [2, 0, 0]]

    @Test func weightsMatchTheHandWorkedInverse() throws {
        let m = try matrix(rows, items: 3)
        let model = try EASE(parameters: Parameters(specs: EASE.parameters, overrides: ["lambda": "1"], strategy: "ease")).fit(TrainingData(ratings: m))
        let expected: [[Float]] = [[0, 4.0 / 11, 0], [0.5, 0, 0.5], [0, 6.0 / 11, 0]]
        for i in 0..<3 { for j in 0..<3 { #expect(abs(model.weight(from: i, to: j) - expected[i][j]) < 1e-5, "B[\(i),\(j)]") } }
        // u0 = i0 + i1: rows 0 and 1 summed; u3 = i0: row 0. Values are ignored by default.
        let s0 = scores(model, m.profile(of: 0), items: 3), s3 = scores(model, m.profile(of: 3), items: 3)
        #expect(zip(s0, [0.5, 4.0 / 11, 0.5]).allSatisfy { abs($0 - $1) < 1e-5 })
        #expect(zip(s3, [0, 4.0 / 11, 0]).allSatisfy { abs($0 - $1) < 1e-5 })
    }

    /// With use-values the Gram is of the ratings themselves; checked against a Gauss–Jordan
    /// inverse in Double of XᵀX + 0.3 I.
    @Test func weightedInteractionsMatchANaiveInverse() throws {
        let m = try matrix(rows, items: 3), n = 3, lambda = 0.3
        var g = [Double](repeating: 0, count: n * n)
        for row in rows { for i in 0..<n { for j in 0..<n { g[i * n + j] += Double(row[i] * row[j]) } } }
        for i in 0..<n { g[i * n + i] += lambda }
        let p = gaussJordanInverse(g, n: n)
        let model = try EASE(parameters: Parameters(specs: EASE.parameters, overrides: ["lambda": "0.3", "use-values": "true"],
                                                     strategy: "ease")).fit(TrainingData(ratings: m))
        for i in 0..<n {
            for j in 0..<n {
                let expected = i == j ? 0 : -p[i * n + j] / p[j * n + j]
                #expect(abs(Double(model.weight(from: i, to: j)) - expected) < 1e-4, "B[\(i),\(j)] \(model.weight(from: i, to: j)) vs \(expected)")
            }
        }
        // Scores weigh each row by the rating: u1 = 4·row1 + 2·row2.
        let s1 = scores(model, m.profile(of: 1), items: 3)
        for j in 0..<n {
            let expected = 4 * (j == 1 ? 0 : -p[1 * n + j] / p[j * n + j]) + 2 * (j == 2 ? 0 : -p[2 * n + j] / p[j * n + j])
            #expect(abs(Double(s1[j]) - expected) < 1e-3)
        }
    }

    /// Item interaction counts 3, 1, 3, 2 (i1 least): max-items = 2 keeps i0 and i2, the others
    /// score −inf. Two items alone: G = [[a+λ b] [b d+λ]] gives B01 = b/(a+λ), B10 = b/(d+λ):
    /// here a = d = 3 (i0 and i2 counts), b = 2 (u0, u1), λ = 1 → 0.5 both ways.
    @Test func maxItemsKeepsTheMostInteractedItems() throws {
        let m = try matrix([[1, 0, 1, 0], [1, 1, 1, 1], [1, 0, 0, 1], [0, 0, 1, 0]], items: 4)
        let model = try EASE(parameters: Parameters(specs: EASE.parameters, overrides: ["lambda": "1", "max-items": "2"], strategy: "ease"))
            .fit(TrainingData(ratings: m))
        #expect(model.kept == [0, 2])
        #expect(abs(model.weight(from: 0, to: 1) - 0.5) < 1e-6 && abs(model.weight(from: 1, to: 0) - 0.5) < 1e-6)
        let s = scores(model, UserProfile(user: nil, items: [0, 1], ratings: [1, 1]), items: 4)
        #expect(s[1] == -.infinity && s[3] == -.infinity && abs(s[2] - 0.5) < 1e-6)
        // A profile with no kept item has nothing to go on.
        #expect(scores(model, UserProfile(user: nil, items: [1, 3], ratings: [1, 1]), items: 4).allSatisfy { $0 == -.infinity })
    }

    /// 3 items need 3² · 4 = 36 bytes: a budget of 32 bytes refuses, naming items, bytes and max-items.
    @Test func aMatrixOverTheMemoryBudgetIsRefused() throws {
        let m = try matrix(rows, items: 3)
        let budget = String(32.0 / 1_073_741_824)
        let ease = try EASE(parameters: Parameters(specs: EASE.parameters, overrides: ["memory-gib": budget], strategy: "ease"))
        #expect(throws: TrainingDataError.self) { try ease.fit(TrainingData(ratings: m)) }
        do {
            _ = try ease.fit(TrainingData(ratings: m))
        } catch {
            let text = "\(error)"
            #expect(text.contains("3 items") && text.contains("36 bytes") && text.contains("max-items") && text.contains("memory-gib"), "\(text)")
        }
        let capped = try EASE(parameters: Parameters(specs: EASE.parameters, overrides: ["memory-gib": budget, "max-items": "2"], strategy: "ease"))
        #expect(try capped.fit(TrainingData(ratings: m)).kept.count == 2)
    }

    @Test func settingsOutOfRangeAreRefused() {
        for (name, value) in [("lambda", "0"), ("max-items", "-1"), ("memory-gib", "0")] {
            do {
                _ = try registeredStrategies.make("ease", overrides: [name: value])
                Issue.record("\(name)=\(value) accepted")
            } catch {
                #expect(error is ParameterError && "\(error)".contains(name), "\(error)")
            }
        }
    }

    @Test func aStoredModelScoresAsTheFittedOne() throws {
        let m = try randomMatrix(users: 30, items: 12, density: 0.3, seed: 4)
        let model = try registeredStrategies.make("ease", overrides: ["lambda": "2"]).0.fitAny(TrainingData(ratings: m))
        expectSameOutputs(model, try EASE.decodeModel(encodeModel(model)), on: m, every: 3, items: [0, 5])
    }
}

// MARK: - iALS

private func ials(_ overrides: [String: String] = [:]) throws -> IALS {
    try IALS(parameters: Parameters(specs: IALS.parameters, overrides: overrides, strategy: "ials"))
}

@Suite struct IALSTests {
    /// The normal equations of one row, (YᵀY + λI + Σ (c_i − 1) y_i y_iᵀ) x = Σ c_i y_i, solved by
    /// k CG steps from zero (exact in exact arithmetic) against a textbook Cholesky in Double.
    /// Tolerance 1e-4 relative to the solution's largest entry (Float32 CG).
    @Test func conjugateGradientMatchesADirectCholeskySolve() {
        let k = 6, items = 15, lambda: Float = 0.5
        var rng = SeededGenerator(seed: 11)
        let y = (0..<items * k).map { _ in Float(rng.gaussian()) }
        let columns: [Int32] = [1, 4, 5, 9, 13], confidences: [Float] = [2, 5, 1.5, 3, 8]
        let gram = regularisedGram(y, factors: k, regularisation: lambda)
        var a = gram.map(Double.init), b = [Double](repeating: 0, count: k)
        for (i, c) in zip(columns, confidences) {
            for p in 0..<k {
                b[p] += Double(c * y[Int(i) * k + p])
                for q in 0..<k { a[p * k + q] += Double((c - 1) * y[Int(i) * k + p] * y[Int(i) * k + q]) }
            }
        }
        let direct = choleskySolve(a, b, n: k)
        var x = [Float](repeating: 0, count: k)
        y.withUnsafeBufferPointer { yv in
            gram.withUnsafeBufferPointer { g in
                columns.withUnsafeBufferPointer { cols in
                    confidences.withUnsafeBufferPointer { conf in
                        x.withUnsafeMutableBufferPointer { xv in
                            RowSolver(factors: k).conjugateGradient(ObservedRow(columns: cols.baseAddress!, confidences: conf.baseAddress!, count: 5),
                                                                    fixed: yv.baseAddress!, gram: g.baseAddress!, row: xv.baseAddress!, steps: k)
                        }
                    }
                }
            }
        }
        let scale = direct.map(abs).max()!
        #expect(zip(x, direct).allSatisfy { abs(Double($0) - $1) <= 1e-4 * scale }, "\(x) vs \(direct)")
    }

    /// One factor, item factors y = (1, 2, 0.5), λ = 0.1, α = 1 (c = 2 on interactions): a user of
    /// i0 and i1 solves x (Σ y² + Σ_I (c − 1) y² + λ) = Σ_I c y, x = (2·1 + 2·2) / (5.25 + 5 + 0.1)
    /// = 6 / 10.35. With plays and log confidence (α 2, ε 1), 3 plays of i0: c = 1 + 2 ln 4,
    /// x = c / (5.25 + (c − 1) + 0.1).
    @Test func oneFactorFoldInMatchesTheClosedForm() {
        let binary = IALS.Model(factors: 1, itemFactors: [1, 2, 0.5], interacted: [true, true, true], regularisation: 0.1,
                                confidence: ConfidenceSetting(mode: .auto, alpha: 1, epsilon: 1, useValues: false).resolved(for: .ratings))
        let x = Float(6 / 10.35)
        let s = scores(binary, UserProfile(user: nil, items: [0, 1], ratings: [4, 2]), items: 3)
        #expect(zip(s, [x, 2 * x, 0.5 * x]).allSatisfy { abs($0 - $1) < 1e-5 }, "\(s)")

        let plays = IALS.Model(factors: 1, itemFactors: [1, 2, 0.5], interacted: [true, true, true], regularisation: 0.1,
                               confidence: ConfidenceSetting(mode: .auto, alpha: 2, epsilon: 1, useValues: false).resolved(for: .plays))
        let c = 1 + 2 * Float(log(4.0))
        let xp = plays.userFactors(UserProfile(user: nil, items: [0], ratings: [3]))!
        #expect(abs(xp[0] - c / (5.25 + (c - 1) + 0.1)) < 1e-5)
    }

    /// Serving solves a training user's factors from their profile: the same row a final user
    /// half-step of training gives (there by CG run to convergence on the trainer's rows and
    /// confidences, here by Cholesky on the profile). Tolerance 1e-3 of the largest factor.
    @Test func foldInOfATrainingUserEqualsAFinalUserSolve() throws {
        let m = try randomMatrix(users: 40, items: 25, density: 0.25, seed: 3)
        let strategy = try ials(["factors": "5", "iterations": "4", "regularisation": "1", "use-values": "true", "alpha": "0.5"])
        var (users, items) = try strategy.train(TrainingData(ratings: m))
        let weigh = strategy.confidence.resolved(for: .ratings)
        try strategy.halfStep(m.byUser, confidences: m.byUser.values.map(weigh.confidence), fixed: items, solving: &users, steps: 40)
        let model = IALS.Model(factors: 5, itemFactors: items, interacted: strategy.interacted(m), regularisation: 1, confidence: weigh)
        let scale = users.map(abs).max()!
        for u in 0..<Int32(m.userCount) where m.byUser.count(u) > 0 {
            let folded = model.userFactors(m.profile(of: u))!
            let trained = users[Int(u) * 5..<Int(u + 1) * 5]
            #expect(zip(folded, trained).allSatisfy { abs($0 - $1) <= 1e-3 * scale }, "user \(u): \(folded) vs \(Array(trained))")
        }
    }

    @Test func aSeedFixesTheFactors() throws {
        let m = try randomMatrix(users: 30, items: 20, density: 0.3, seed: 5)
        let data = TrainingData(ratings: m)
        let a = try ials(["factors": "4", "seed": "7"]).fit(data), b = try ials(["factors": "4", "seed": "7"]).fit(data)
        let c = try ials(["factors": "4", "seed": "8"]).fit(data)
        #expect(a.itemFactors.vectors == b.itemFactors.vectors)
        #expect(a.itemFactors.vectors != c.itemFactors.vectors)
        #expect(a.itemFactors.dimension == 4 && a.itemFactors.vectors.count == 4 * 20)
    }

    @Test func settingsOutOfRangeAreRefusedNamingTheirRange() {
        for (name, value, range) in [("factors", "0", "1…1000"), ("iterations", "0", "1…1000"), ("regularisation", "0", "> 0"),
                                     ("alpha", "-1", "0…"), ("epsilon", "0", "> 0"), ("cg-steps", "-1", "0…1000")] {
            #expect(throws: ParameterError.self) { try ials([name: value]) }
            #expect(throws: ParameterError.self) { try registeredStrategies.make("ials", overrides: [name: value]) }
            do {
                _ = try registeredStrategies.make("ials", overrides: [name: value])
            } catch {
                #expect("\(error)".contains(name) && "\(error)".contains(range), "\(error)")
            }
        }
    }

    /// The American spelling (LensKit's) is refused, pointing at the one Timbre uses.
    @Test func regularizationIsRefusedWithTheBritishSpelling() {
        let error = #expect(throws: ParameterError.self) { try registeredStrategies.make("ials", overrides: ["regularization": "1"]) }
        #expect(error?.description.hasPrefix("ials has no parameter 'regularization' (did you mean 'regularisation'?) (it takes: factors, ") == true,
                "\(error.map(String.init(describing:)) ?? "")")
    }

    @Test func aStoredModelScoresAsTheFittedOne() throws {
        let m = try randomMatrix(users: 30, items: 12, density: 0.3, seed: 6)
        let model = try registeredStrategies.make("ials", overrides: ["factors": "3"]).0.fitAny(TrainingData(ratings: m))
        expectSameOutputs(model, try IALS.decodeModel(encodeModel(model)), on: m, every: 3, items: [0, 5])
    }
}
