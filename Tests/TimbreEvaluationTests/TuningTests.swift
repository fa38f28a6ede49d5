import Foundation
import Testing
import TimbreCore
import TimbreStrategies
@testable import TimbreEvaluation

@Suite struct TuningTests {
    @Test func searchSpacesParseListsRangesAndLogRanges() throws {
        let s = try SearchSpace.parse("x=ials:factors=[32,64,128],weight=log(0.1..10),regularisation=0.01..1,iterations=15")
        #expect(s.label == "x" && s.name == "ials" && s.fixed == ["iterations": "15"])
        #expect(s.dimensions.map(\.name) == ["factors", "regularisation", "weight"])
        #expect(s.dimensions.map(\.domain) == [.values(["32", "64", "128"]), .linear(0.01, 1), .log(0.1, 10)])
        #expect(s.gridSize == nil)
        let nested = try SearchSpace.parse("hybrid:first=[item-knn(mode=implicit,k=20),user-knn(mode=implicit)],weight=[0.1,0.3]")
        #expect(nested.dimensions.first?.domain == .values(["item-knn(mode=implicit,k=20)", "user-knn(mode=implicit)"]))
        #expect(nested.gridSize == 4 && nested.grid().count == 4)
        #expect(try !SearchSpace.parse("item-knn:k=20").isSearch)
        for bad in ["", "ials:factors=[32,64", "ials:weight=log(0..1)", "ials:weight=2..1", "ials:k", "ials:k=[]", "ials:k=1,k=2"] {
            #expect(throws: EvaluationError.self, "\(bad)") { try SearchSpace.parse(bad) }
        }
    }

    /// Every fold's validation part comes out of its training part: no test interaction in it,
    /// and training part = what the trial trains on + validation.
    @Test func theValidationPartNeverHoldsATestInteraction() throws {
        let m = SyntheticCatalog(users: 120, items: 80, ratings: 3000, seed: 4).generate()
        for spec in [SplitSpec(.userHoldout(folds: 5, fraction: 0.2)), SplitSpec(.randomKFold(folds: 4), seed: 3)] {
            for fold in try spec.splits(of: m) {
                let v = Tuner.validationSplit(of: fold.train, fraction: 0.2, seed: 7)
                func pairs(_ x: RatingMatrix) -> Set<[Int32]> { Set(x.triples.map { [$0.user, $0.item] }) }
                let test = pairs(fold.test), train = pairs(fold.train), held = pairs(v.test), kept = pairs(v.train)
                #expect(held.isDisjoint(with: test) && kept.isDisjoint(with: test))
                #expect(held.union(kept) == train && held.isDisjoint(with: kept))
                #expect(!held.isEmpty)
                // Every user with two or more training interactions keeps at least one and gives one.
                for u in 0..<Int32(m.userCount) where fold.train.byUser.count(u) >= 2 {
                    #expect(v.train.byUser.count(u) >= 1 && v.test.byUser.count(u) >= 1)
                }
            }
        }
    }

    /// A known optimum: score(x) = −(x − 3)² with a fold-dependent offset. Grid finds it exactly;
    /// successive halving keeps it while scoring the later folds on a third of the trials.
    @Test func successiveHalvingKeepsTheBestOfAKnownSpace() throws {
        let space = try SearchSpace.parse("s:x=[0,1,2,3,4,5,6,7,8]")
        var calls = [0, 0, 0]
        let score: ([String: String], Int) throws -> Double = { point, fold in
            calls[fold] += 1
            let x = Double(point["x"]!)!
            return -(x - 3) * (x - 3) + Double(fold) * 0.1 + (x == 4 ? 0.5 : 0) // 4 is second best
        }
        let halved = try Tuner.search(space, options: TuningOptions(method: .grid, halving: true), folds: 3, higherIsBetter: true,
                                      isInteger: { _ in true }, score: score)
        #expect(halved.trials[halved.best].overrides["x"] == "3")
        #expect(calls == [9, 3, 1])
        calls = [0, 0, 0]
        let full = try Tuner.search(space, options: TuningOptions(method: .grid), folds: 3, higherIsBetter: true,
                                    isInteger: { _ in true }, score: score)
        #expect(full.trials[full.best].overrides["x"] == "3" && calls == [9, 9, 9])
        // Lower is better (RMSE): the minimum wins.
        let lowest = try Tuner.search(space, options: TuningOptions(method: .grid), folds: 1, higherIsBetter: false,
                                      isInteger: { _ in true }) { p, _ in abs(Double(p["x"]!)! - 6) }
        #expect(lowest.trials[lowest.best].overrides["x"] == "6")
        #expect(throws: EvaluationError.self) {
            try Tuner.search(try SearchSpace.parse("s:x=0..1"), options: TuningOptions(method: .grid), folds: 1,
                             higherIsBetter: true, isInteger: { _ in false }) { _, _ in 0 }
        }
    }

    /// Random search with a seed draws the same trials and picks the same winner; integer settings
    /// draw integers; a tuned comparison evaluates the winner on the test folds.
    @Test func aSeededSearchIsReproducibleAndTheWinnerIsEvaluated() throws {
        let m = SyntheticCatalog(users: 150, items: 100, ratings: 3000, seed: 9).generate()
        let evaluation = Evaluation(split: SplitSpec(.userHoldout(folds: 2, fraction: 0.2)), options: EvaluationOptions(bootstrapSamples: 50))
        let tuning = StrategyTuning(evaluation: evaluation, options: TuningOptions(trials: 4, seed: 11), metric: "NDCG@10")
        let comparison = TunedComparison(tuning: tuning)
        let spec = "item-knn:mode=implicit,similarity=cosine,centring=none,k=2..60,shrinkage=log(0.1..100)"
        let a = try comparison.run([spec, "popularity"], data: TrainingData(ratings: m), dataset: "s", registry: registeredStrategies)
        let b = try comparison.run([spec, "popularity"], data: TrainingData(ratings: m), dataset: "s", registry: registeredStrategies)
        let record = try #require(a.records.first)
        #expect(a.records.map(\.trials) == b.records.map(\.trials) && record.best == b.records[0].best)
        #expect(record.trials.count == 4 && record.trials.allSatisfy { Int($0.overrides["k"]!) != nil && $0.foldScores.count == 2 })
        #expect(Set(record.trials.map { $0.overrides["k"]! }).count > 1, "distinct draws")
        #expect(a.report.strategies.map(\.label) == ["item-knn (tuned)", "popularity"])
        let tuned = a.report.strategies[0]
        #expect(tuned.parameters.values["k"] == .int(Int(record.winner.overrides["k"]!)!))
        #expect(record.winner.score == record.trials.map(\.score).max())
        let table = TunedComparison.table(a.records, report: a.report)
        #expect(table.contains("winner  \(record.winner.spec)") && table.contains("| test "))
        #expect(throws: EvaluationError.self) { try StrategyTuning.cutoff(of: "NDCG") }
        #expect(try StrategyTuning.cutoff(of: "P@5") == 5 && StrategyTuning.cutoff(of: "RMSE") == nil)
    }
}
