import Foundation
import Testing
import TimbreCore
import TimbreEvaluation
import TimbreStrategies

/// End to end on the real MovieLens-100K (RecBole's `ml-100k.inter`, found through
/// TIMBRE_ML100K_DIR). Fails, never skips, when the data is missing.
@Suite struct MovieLensEvaluationTests {
    let data: RatingMatrix

    init() throws {
        do { data = try MovieLensFixture.load() }
        catch { Issue.record("MovieLens-100K is required: \(error)"); throw error }
    }

    @Test func datasetIsTheOneTheReferencesUsed() {
        #expect(data.userCount == 943 && data.itemCount == 1682 && data.ratingCount == 100_000)
    }

    /// 5-fold random k-fold as Surprise measures it. Bands: at most the goal (Surprise's figure
    /// rounded), at least 0.02 below it, since a far lower RMSE would mean test ratings leaked.
    @Test func fiveFoldRMSELandsInTheTargetBand() throws {
        let report = try Evaluation(split: SplitSpec(.randomKFold(folds: 5), seed: 0),
                                    options: EvaluationOptions(rankingMetrics: false, bootstrapSamples: 100))
            .run(data, strategies: [try .registered("bias", in: registeredStrategies),
                                    try .registered("item-knn", in: registeredStrategies)], dataset: "ml-100k")
        let bias = try #require(report.strategies[0].metric("RMSE")).value
        let itemKNN = try #require(report.strategies[1].metric("RMSE")).value
        #expect(bias <= 0.945 && bias > 0.925, "bias RMSE \(bias)")
        #expect(itemKNN <= 0.920 && itemKNN > 0.89, "item-knn RMSE \(itemKNN)")
        #expect(report.strategies[1].metric("RMSE")!.vsFirst!.pValue < 0.05)
        #expect(report.strategies.allSatisfy { $0.predictions == 100_000 })
    }

    /// One fold of LensKit's protocol (users in 5 folds, 20% held out, top-10, full ranking).
    /// Popularity is deterministic given the split; LensKit's 0.2137 over all 5 folds, ±0.03 for one fold.
    @Test func popularityNDCGOnTheHoldoutProtocolMatchesLensKit() throws {
        let report = try Evaluation(split: SplitSpec(.userHoldout(folds: 5, fraction: 0.2), seed: 0),
                                    options: EvaluationOptions(ratingMetrics: false))
            .run(data, strategies: [try .registered("popularity", in: registeredStrategies)], dataset: "ml-100k")
        let ndcg = try #require(report.strategies[0].metric("NDCG@10"))
        #expect(abs(ndcg.value - 0.2137) < 0.03, "NDCG@10 \(ndcg.value)")
        #expect(ndcg.lower < ndcg.value && ndcg.value < ndcg.upper)
        #expect(report.table().contains("full ranking"))
        let csv = report.csv().split(separator: "\n")
        #expect(csv.first == "strategy,parameters,metric,value,lower,upper,units,diff_vs_first,p_vs_first")
        #expect(csv.contains { $0.hasPrefix("popularity,,NDCG@10,") })
        let decoded = try JSONDecoder().decode(EvaluationReport.self, from: Data(report.json().utf8))
        #expect(decoded.split == report.split && decoded.strategies[0].metrics == report.strategies[0].metrics)
        #expect(report.svg().contains("<svg") && report.svg().contains("NDCG@10"))
    }
}
