import Foundation
import Testing
import TimbreCore
import TimbreStrategies
import TimbreTestSupport
@testable import TimbreEvaluation

@Suite struct SignificanceTests {
    @Test func holmOnAHandWorkedList() {
        // Sorted: 0.005·4 = 0.02, 0.01·3 = 0.03, 0.03·2 = 0.06, 0.04·1 = 0.04 → monotone 0.06.
        let adjusted = holmAdjusted([0.01, 0.04, 0.03, 0.005])
        for (a, e) in zip(adjusted, [0.03, 0.06, 0.06, 0.02]) { #expect(abs(a - e) < 1e-15) }
        // 0.5·2 caps at 1, and the larger p cannot come out below it.
        #expect(holmAdjusted([0.5, 0.6]) == [1, 1])
        #expect(holmAdjusted([0.02]) == [0.02] && holmAdjusted([]) == [])
    }

    @Test func wilcoxonOnAHandWorkedCase() {
        // d = 1, −2, 3, 4, 0: the zero is dropped; ranks of |d| 1, 2, 3, 4; W+ = 8, W− = 2;
        // mean n(n+1)/4 = 5, variance n(n+1)(2n+1)/24 = 7.5; z = (2 − 5)/√7.5 = −1.095445;
        // p = erfc(1.095445/√2) = 0.273322 (scipy.stats.wilcoxon(…, method="approx"): 0.27332167829229814).
        let w = WilcoxonSignedRank([1, -2, 3, 4, 0], [0, 0, 0, 0, 0])
        #expect(w.n == 4 && w.positive == 8 && w.negative == 2)
        #expect(abs(w.z - -3 / 7.5.squareRoot()) < 1e-12)
        #expect(abs(w.pValue - 0.27332167829229814) < 1e-12)
    }

    /// 40 pairs of quarters with ties and 5 zero differences, drawn with numpy
    /// (default_rng(7).integers(0, 5, 40) / 4, twice); scipy 1.17.1
    /// `wilcoxon(x, y, method="approx")`: statistic 297.0, p 0.7653013140551386, z −0.29852655177469894.
    @Test func wilcoxonMatchesScipyWithTiesAndZeros() {
        let x: [Double] = [0.5, 0.25, 1, 1, 0, 0.5, 1, 1, 0.75, 0.75, 0, 0.75, 0.5, 0, 0.25, 0.5, 0.75, 0.5, 0.75, 1,
                           0.75, 0.25, 0.75, 0.5, 0, 0, 0.75, 0.25, 0.5, 0.25, 0.25, 0, 0.25, 1, 0.5, 0.25, 0.5, 1, 0.25, 0.5]
        let y: [Double] = [0.5, 0.75, 0.5, 0.75, 0.5, 0.75, 1, 0, 0.5, 0.5, 0.25, 0.25, 0, 0.5, 1, 0, 0.5, 1, 1, 0.25,
                           0, 0.75, 0, 0.25, 0.5, 1, 0, 0.75, 0.5, 0, 1, 1, 0.5, 1, 0.75, 1, 1, 0.5, 0.25, 0]
        let w = WilcoxonSignedRank(x, y)
        #expect(w.n == 35)
        #expect(min(w.positive, w.negative) == 297)
        #expect(w.positive + w.negative == Double(35 * 36 / 2))
        #expect(abs(w.z - -0.29852655177469894) < 1e-12)
        #expect(abs(w.pValue - 0.7653013140551386) < 1e-12)
    }

    @Test func differencesEqualUpToRoundingAreOneTie() {
        // 0.3 − 0.1 and 0.5 − 0.3 differ in the last bit; both get rank 1.5.
        let w = WilcoxonSignedRank([0.3, 0.5], [0.1, 0.3])
        #expect(w.positive == 3 && w.negative == 0)
        #expect(WilcoxonSignedRank([1, 2], [1, 2]).pValue == 1)
    }

    @Test func reportsAdjustAcrossStrategiesAndMetricsAndGiveDifferenceIntervals() throws {
        let data = SyntheticCatalog(users: 150, items: 100, ratings: 4000, seed: 3).generate()
        let strategies = try ["popularity", "item-knn:mode=implicit,k=20", "user-knn:mode=implicit,similarity=cosine,centring=none,k=20", "bias"]
            .map { try StrategyUnderTest.parse($0, in: registeredStrategies) }
        for test in PairedTest.allCases {
            let report = try Evaluation(split: SplitSpec(.userHoldout(folds: 3, fraction: 0.2), seed: 1),
                                        options: EvaluationOptions(bootstrapSamples: 100, pairedTest: test))
                .run(data, strategies: strategies, dataset: "synthetic")
            let compared = report.strategies.flatMap { $0.metrics.compactMap(\.vsFirst) }
            #expect(compared.count == report.comparisonCount && compared.count >= 3 * 7)
            // The adjusted values are Holm's of the report's raw p-values, in the same order.
            #expect(compared.map(\.adjustedPValue!) == holmAdjusted(compared.map(\.pValue)))
            #expect(compared.allSatisfy { $0.adjustedPValue! >= $0.pValue })
            for s in report.strategies.dropFirst() {
                for m in s.metrics {
                    guard let c = m.vsFirst, let ref = report.strategies[0].metric(m.name) else { continue }
                    #expect(abs(c.difference - (m.value - ref.value)) < 1e-12, "\(s.label) \(m.name)")
                    #expect(c.lower! <= c.difference && c.difference <= c.upper!)
                }
            }
            if test == .wilcoxon { #expect(compared.contains { $0.test == "Wilcoxon signed-rank over users" }) }
            let table = report.table()
            #expect(table.contains("Holm–Bonferroni adjusted over the \(report.comparisonCount) comparisons (strategies × metrics)"))
            #expect(table.contains("difference vs popularity [95% interval], Holm-adjusted p"))
        }
    }

    @Test func optionsStoredBeforeTheChoiceDecodeAsUnadjustedZTests() throws {
        let old = #"{"bootstrapSamples":1000,"bootstrapSeed":0,"cutoff":10,"rankingMetrics":true,"ratingMetrics":true,"relevance":{"anyHeldOut":{}}}"#
        let options = try JSONDecoder().decode(EvaluationOptions.self, from: Data(old.utf8))
        #expect(options.pairedTest == .zTest && !options.adjustForMultipleComparisons && options.cutoff == 10)
        let now = EvaluationOptions(pairedTest: .wilcoxon)
        #expect(try JSONDecoder().decode(EvaluationOptions.self, from: JSONEncoder().encode(now)) == now)
    }
}
