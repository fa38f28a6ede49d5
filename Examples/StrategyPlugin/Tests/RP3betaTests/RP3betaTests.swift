import Foundation
import Testing
import TimbreStrategyKit
@testable import RP3beta

/// Three users, three items: u0 has i0 and i1, u1 has i1 and i2, u2 has i1. So items i0, i1, i2
/// have 1, 3 and 1 users, users u0, u1, u2 have 2, 2 and 1 items, and the walks i → u → j are
/// i0 → u0 → i1, i1 → u0 → i0, i1 → u1 → i2 and i2 → u1 → i1 (i0 and i2 share no user).
struct RP3betaTests {
    let data = TrainingData(ratings: try! RatingMatrix(
        users: Vocabulary(["u0", "u1", "u2"]), items: Vocabulary(["i0", "i1", "i2"]),
        ratings: [(0, 0), (0, 1), (1, 1), (1, 2), (2, 1)].map { RatingTriple(user: Int32($0.0), item: Int32($0.1), value: 4) }))

    func model(_ overrides: [String: String]) throws -> RP3beta.Model {
        try RP3beta(parameters: Parameters(specs: RP3beta.parameters, overrides: overrides, strategy: RP3beta.name)).fit(data)
    }

    func expectClose(_ a: Float, _ b: Double) { #expect(abs(Double(a) - b) < 1e-6, "\(a) vs \(b)") }

    /// alpha 1, beta 0: W_ij = (1/|U(i)|) Σ over shared users u of 1/|I(u)|.
    @Test func plainWalkProbabilities() throws {
        let w = try model(["alpha": "1", "beta": "0", "k": "0"])
        expectClose(w.weight(0, 1), 1.0 / 1 * 1 / 2)   // via u0
        expectClose(w.weight(1, 0), 1.0 / 3 * 1 / 2)   // via u0
        expectClose(w.weight(1, 2), 1.0 / 3 * 1 / 2)   // via u1
        expectClose(w.weight(2, 1), 1.0 / 1 * 1 / 2)   // via u1
        for (i, j) in [(0, 2), (2, 0), (0, 0), (1, 1), (2, 2)] { #expect(w.weight(Int32(i), Int32(j)) == 0) }
    }

    /// alpha 2 squares both steps; beta 0.5 divides column j by √popularity_j (i1 has 3 users).
    @Test func exponentsAndPopularityPenalty() throws {
        let w = try model(["alpha": "2", "beta": "0.5", "k": "0"])
        expectClose(w.weight(0, 1), 1.0 * 0.25 / 3.0.squareRoot())
        expectClose(w.weight(1, 0), 1.0 / 9 * 0.25 / 1)
        expectClose(w.weight(1, 2), 1.0 / 9 * 0.25 / 1)
        expectClose(w.weight(2, 1), 1.0 * 0.25 / 3.0.squareRoot())
    }

    /// k = 1 keeps one neighbour per row; i1's two equal ones tie, and the lower index stays.
    @Test func topKPerRow() throws {
        let w = try model(["alpha": "1", "beta": "0", "k": "1"])
        #expect(w.weight(1, 0) > 0 && w.weight(1, 2) == 0)
        #expect(w.weight(0, 1) > 0 && w.weight(2, 1) > 0)
    }

    /// A profile's scores are the sums of its items' rows: {i0, i2} reaches only i1, by both.
    @Test func scoresSumRowsAndExplainShares() throws {
        let w = try model(["alpha": "1", "beta": "1", "k": "0"])
        let profile = UserProfile(user: nil, items: [0, 2], ratings: [5, 1])
        var scores = [Float](repeating: -.infinity, count: 3)
        w.score(profile, into: &scores)
        expectClose(scores[1], 0.5 / 3 + 0.5 / 3)
        #expect(scores[0] == 0 && scores[2] == 0)
        let shares = try #require(w.explain(profile, item: 1, limit: 5))
        #expect(shares.map(\.item) == [0, 2])
        expectClose(shares[0].share, 0.5)
    }

    @Test func modelRoundTripsAndRefusesCorruptRows() throws {
        let w = try model([:])
        var writer = ModelWriter()
        w.encode(to: &writer)
        var reader = ModelReader(writer.bytes)
        let back = try RP3beta.Model(decoding: &reader)
        for i in Int32(0)..<3 { for j in Int32(0)..<3 { #expect(back.weight(i, j) == w.weight(i, j)) } }

        var bad = ModelWriter()
        bad.write(Int64(3))
        bad.write([Int64(0), 1, 1, 1])
        bad.write([Int32(7)])   // neighbour 7 of a 3-item model
        bad.write([Float(1)])
        var badReader = ModelReader(bad.bytes)
        #expect(throws: ModelDecodingError.self) { try RP3beta.Model(decoding: &badReader) }
    }

    @Test func settingsOutOfRangeAreRefused() {
        #expect(throws: ParameterError.self) { try Parameters(specs: RP3beta.parameters, overrides: ["beta": "-1"], strategy: "rp3beta") }
    }
}
