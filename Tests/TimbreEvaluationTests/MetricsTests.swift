import Testing
import TimbreCore
@testable import TimbreEvaluation

@Suite struct RankingMetricsTests {
    @Test func handWorkedList() throws {
        // List 7, 3, 9, 1, 5; relevant {3, 5, 8}; N = 5. Hits at ranks 2 and 5.
        let r = try #require(RankingMetrics(ranked: [7, 3, 9, 1, 5], relevant: [3, 5, 8], cutoff: 5))
        #expect(r.precision == 0.4)                      // 2 / 5
        #expect(abs(r.recall - 2.0 / 3) < 1e-12)         // 2 / 3
        // DCG = 1/log2(3) + 1/log2(6) = 0.630930 + 0.386853 = 1.017783;
        // IDCG (3 relevant) = 1 + 0.630930 + 0.5 = 2.130930; NDCG = 0.477624.
        #expect(abs(r.ndcg - 0.477624) < 1e-6)
        // AP = (1/2 + 2/5) / min(3, 5) = 0.3.
        #expect(abs(r.averagePrecision - 0.3) < 1e-12)
        #expect(r.reciprocalRank == 0.5)
        #expect(r.hit == 1)
    }

    @Test func noRelevantItemIsUndefinedNotZero() {
        #expect(RankingMetrics(ranked: [1, 2, 3], relevant: [], cutoff: 3) == nil)
    }

    @Test func fewerCandidatesThanN() throws {
        // Only one item could be ranked. P@10 still divides by N; NDCG's ideal uses min(|rel|, N) = 2:
        // 1 / (1 + 1/log2(3)) = 0.613147.
        let r = try #require(RankingMetrics(ranked: [3], relevant: [3, 8], cutoff: 10))
        #expect(r.precision == 0.1)
        #expect(r.recall == 0.5)
        #expect(abs(r.ndcg - 0.613147) < 1e-6)
        #expect(r.averagePrecision == 0.5)
        #expect(r.reciprocalRank == 1)
    }

    @Test func missesScoreZero() throws {
        let r = try #require(RankingMetrics(ranked: [1, 2], relevant: [9], cutoff: 2))
        #expect(r.ndcg == 0 && r.averagePrecision == 0 && r.reciprocalRank == 0 && r.hit == 0)
    }

    @Test func perfectListScoresOne() throws {
        let r = try #require(RankingMetrics(ranked: [4, 2, 6], relevant: [2, 4], cutoff: 3))
        #expect(abs(r.ndcg - 1) < 1e-12 && abs(r.averagePrecision - 1) < 1e-12 && r.recall == 1)
    }

    @Test func tiesBreakByItemIndexSoMetricsAreReproducible() throws {
        // Items 1 and 3 tie at 0.9, 0 and 2 at 0.5: lower index first, whatever the input order.
        let ranked = topN([0.5, 0.9, 0.5, 0.9], n: 4).map(\.item)
        #expect(ranked == [1, 3, 0, 2])
        // With item 3 relevant it sits at rank 2: NDCG = (1/log2 3) / 1 = 0.630930.
        let r = try #require(RankingMetrics(ranked: ranked, relevant: [3], cutoff: 4))
        #expect(abs(r.ndcg - 0.630930) < 1e-6)
    }

    @Test func noveltyIsMeanSelfInformation() {
        // 4 training users; item 0 rated by all (−log2 1 = 0), item 1 by 2 (−log2 ½ = 1),
        // item 3 by nobody (counted as 1: −log2 ¼ = 2).
        #expect(novelty(of: [0, 1], popularity: [4, 2, 1, 0], userCount: 4) == 0.5)
        #expect(novelty(of: [3], popularity: [4, 2, 1, 0], userCount: 4) == 2)
        #expect(novelty(of: [], popularity: [4], userCount: 4) == nil)
    }
}

@Suite struct StatisticsTests {
    @Test func meanIntervalByHand() {
        // 1, 2, 3, 4: mean 2.5, sample variance 5/3, SE = √(5/12) = 0.645497, half-width 1.959964 · SE = 1.265152.
        let i = MeanInterval([1, 2, 3, 4])
        #expect(i.mean == 2.5)
        #expect(abs(i.upper - 2.5 - 1.265152) < 1e-5 && abs(2.5 - i.lower - 1.265152) < 1e-5)
    }

    @Test func pairedTest() {
        let a: [Double] = [0.5, 0.6, 0.7, 0.8]
        #expect(pairedPValue(a, a) == 1)
        // A shift of 0.1 with a little noise is clearly significant.
        let b = (0..<200).map { Double($0 % 7) / 10 }
        let c = b.enumerated().map { $1 + 0.1 + Double($0 % 3) / 100 }
        #expect(pairedPValue(c, b) < 1e-6)
        // Differences ±1 alternating: mean 0, so no evidence either way.
        let d = (0..<100).map { Double($0 % 2 == 0 ? 1 : -1) }
        #expect(pairedPValue(d, [Double](repeating: 0, count: 100)) > 0.9)
    }

    @Test func rmseIsTheMeanOfFoldRMSEs() {
        // Fold 0: errors² 1 and 9 over 2 ratings → √5; fold 1: one rating, error² 4 → 2.
        let units = [ErrorUnit(fold: 0, squared: 1, absolute: 1, count: 1), ErrorUnit(fold: 0, squared: 9, absolute: 3, count: 1),
                     ErrorUnit(fold: 1, squared: 4, absolute: 2, count: 1)]
        #expect(abs(ErrorStatistic.value(units, folds: 2, .rmse) - (5.0.squareRoot() + 2) / 2) < 1e-12)
        #expect(ErrorStatistic.value(units, folds: 2, .mae) == 2) // (2 + 2) / 2
    }
}
