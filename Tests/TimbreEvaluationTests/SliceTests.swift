import Foundation
import TimbreStrategies
import Testing
import TimbreCore
@testable import TimbreEvaluation

/// A split small enough to work every slice out by hand, ranked by popularity at N = 2.
///
/// Training: u0 rates i0…i10 (11 interactions), u1 i0 i1, u2 i0 i2, u3 i0 i1. Popularity: i0 4,
/// i1 3, i2 2, i3…i10 1, i11…i13 0. I = 11 items with a training interaction, ⌈0.2·11⌉ = 3, so
/// the head is {i0, i1, i2} (count ≥ 2) and the long tail i3…i13.
/// Test and lists (ties by lower index): u0 {i11, i12} ← [i11, i12]; u1 {i2, i5} ← [i2, i3];
/// u2 {i3} ← [i1, i3]; u3 {i2} ← [i2, i3].
@Suite struct SliceTests {
    static let items = (0..<14).map { "i\($0)" }
    static let train: [(Int, Int)] = (0...10).map { (0, $0) } + [(1, 0), (1, 1), (2, 0), (2, 2), (3, 0), (3, 1)]
    static let test: [(Int, Int)] = [(0, 11), (0, 12), (1, 2), (1, 5), (2, 3), (3, 2)]

    static func data() throws -> (TrainingData, [TrainTestSplit]) {
        let users = Vocabulary(["u0", "u1", "u2", "u3"]), items = Vocabulary(Self.items)
        func triples(_ pairs: [(Int, Int)]) -> [RatingTriple] { pairs.map { RatingTriple(user: Int32($0.0), item: Int32($0.1), value: 1) } }
        let all = try RatingMatrix(users: users, items: items, ratings: triples(train + test))
        return (TrainingData(ratings: all), [TrainTestSplit(fold: 0, train: all.restricted(to: triples(train)), test: all.restricted(to: triples(test)))])
    }

    static func report(_ method: SplitSpec.Method) throws -> EvaluationReport {
        let (data, folds) = try data()
        return try Evaluation(split: SplitSpec(method), options: EvaluationOptions(cutoff: 2, ratingMetrics: false))
            .run(data, folds: folds, description: "hand-worked", strategies: [try .registered("popularity", in: registeredStrategies)], dataset: "tiny")
    }

    /// 1/log2(3): a hit at the second position.
    static let second = 1 / log2(3.0)

    @Test func longTailHeadTakesEveryItemTiedAtTheBoundary() {
        #expect(SliceFold.longTail(popularity: [4, 3, 2, 1, 1, 0], headShare: 0.2) == [false, true, true, true, true, true])
        // ⌈0.2·5⌉ = 1 but two items share the top count: both are head.
        #expect(SliceFold.longTail(popularity: [3, 3, 1, 1, 1], headShare: 0.2) == [false, false, true, true, true])
        #expect(SliceFold.longTail(popularity: [4, 3, 2, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0], headShare: 0.2)
            == [false, false, false] + Array(repeating: true, count: 11))
    }

    @Test func sliceMetricsByHand() throws {
        let report = try Self.report(.userHoldout(folds: 5, fraction: 0.2))
        let s = report.strategies[0]
        let u1 = 1 / (1 + Self.second) // u1: hit at 1 of {i2, i5}
        #expect(s.metric("NDCG@2")!.units == 4)
        #expect(abs(s.metric("NDCG@2")!.value - (1 + u1 + Self.second + 1) / 4) < 1e-12)

        // u0 has 11 training interactions: the slice is u1, u2, u3.
        let few = try #require(s.slice("users ≤10 training interactions"))
        #expect(few.units == 3)
        #expect(abs(few.metric("NDCG@2")!.value - (u1 + Self.second + 1) / 3) < 1e-12)
        #expect(abs(few.metric("R@2")!.value - (0.5 + 1 + 1) / 3) < 1e-12)
        #expect(few.metric("HR@2")!.value == 1 && few.metric("HR@2")!.lower == 1)

        // u0 {i11, i12} both hit; u1 {i5} missed (its hit i2 is head); u2 {i3} at 2; u3 has none.
        let tail = try #require(s.slice("long-tail items"))
        #expect(tail.units == 3)
        #expect(abs(tail.metric("NDCG@2")!.value - (1 + 0 + Self.second) / 3) < 1e-12)
        #expect(abs(tail.metric("P@2")!.value - (1 + 0 + 0.5) / 3) < 1e-12)
        // HR 1, 0, 1: mean 2/3, sample variance 1/3, half-interval 1.96·√(1/9).
        let hr = tail.metric("HR@2")!
        #expect(abs(hr.value - 2.0 / 3) < 1e-12 && abs((hr.upper - hr.lower) / 2 - 1.959964 / 3) < 1e-6)
        #expect(s.slice("new items") == nil, "only cold-item splits carry the new-items slice")
    }

    @Test func coldItemsAddTheNewItemsSlice() throws {
        let new = try #require(try Self.report(.coldItems(folds: 2)).strategies[0].slice("new items"))
        // Only u0 holds out never-trained items (i11, i12), both at the top of its list.
        #expect(new.units == 1 && new.metric("NDCG@2")!.value == 1)
    }

    @Test func slicesInTableCSVAndJSON() throws {
        let report = try Self.report(.userHoldout(folds: 5, fraction: 0.2))
        #expect(report.table().contains("slice: long-tail items (3 units)"))
        #expect(report.table().contains("slice: users ≤10 training interactions (3 units)"))
        let rows = report.csv().split(separator: "\n").map(String.init)
        #expect(rows.contains { $0.hasPrefix("popularity,,NDCG@2,") && $0.hasSuffix(",long-tail items") })
        #expect(rows.contains { $0.hasPrefix("popularity,,NDCG@2,") && $0.hasSuffix(",") }, "overall rows leave the slice column empty")
        let decoded = try JSONDecoder().decode(EvaluationReport.self, from: Data(report.json().utf8))
        #expect(decoded.strategies[0].slices == report.strategies[0].slices)
    }
}
