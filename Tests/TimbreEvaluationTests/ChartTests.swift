import Foundation
import Testing
import TimbreCore
@testable import TimbreEvaluation

/// Issue 12's chart defects: tick labels ran past the panel's left edge, proportions' axes went
/// past 1, and a strategy without a value was drawn like a zero bar.
struct ChartTests {
    func report() -> EvaluationReport {
        func m(_ name: String, _ v: Double, _ lo: Double, _ hi: Double) -> MetricEstimate {
            MetricEstimate(name: name, value: v, lower: lo, upper: hi, units: 10, vsFirst: nil)
        }
        let a = StrategyResult(label: "a", name: "a", parameters: Parameters(),
                               metrics: [m("NDCG@10", 0.95, 0.9, 1.02), m("RMSE", 1234.5, 1200, 1240)],
                               timings: StrategyTimings(), predictions: 0, fallbacks: [:])
        // b predicts no ratings: no RMSE at all.
        let b = StrategyResult(label: "b", name: "b", parameters: Parameters(), metrics: [m("NDCG@10", 0.5, 0.4, 0.6)],
                               timings: StrategyTimings(), predictions: 0, fallbacks: [:])
        return EvaluationReport(dataset: DatasetSummary(name: "tiny", users: 3, items: 4, ratings: 5),
                                split: SplitSpec(.userHoldout(folds: 5, fraction: 0.2), seed: 0), splitDescription: "holdout",
                                folds: 5, options: EvaluationOptions(), candidates: "all", strategies: [a, b])
    }

    /// The end-anchored tick labels of each panel, as (x, label), panels 240 px wide from x = 0.
    func ticks(_ svg: String) -> [(x: Double, label: String)] {
        let pattern = try! NSRegularExpression(pattern: #"<text x="([0-9.]+)" y="[0-9.\-]+" text-anchor="end">([^<]+)</text>"#)
        return pattern.matches(in: svg, range: NSRange(svg.startIndex..., in: svg)).map { match in
            let s = { (k: Int) in String(svg[Range(match.range(at: k), in: svg)!]) }
            return (Double(s(1))!, s(2))
        }
    }

    @Test func tickLabelsFitTheirPanel() {
        let all = ticks(report().svg())
        #expect(all.count == 6)
        // ≈ 6.5 px a character at 11 px: the label's left end stays inside its own panel.
        for t in all {
            let panelLeft = (t.x / 240).rounded(.down) * 240
            #expect(t.x - 6.5 * Double(t.label.count) >= panelLeft, "\(t.label) at \(t.x)")
        }
        #expect(all.contains { $0.label == "1.36e+03" })
    }

    @Test func aProportionsAxisEndsAtOne() {
        #expect(EvaluationReport.axisTop("NDCG@10", highest: 1.02) == 1)
        #expect(EvaluationReport.axisTop("NDCG@10", highest: 0.5) == 0.55)
        #expect(abs(EvaluationReport.axisTop("RMSE", highest: 1.02) - 1.122) < 1e-9)
        let labels = ticks(report().svg()).map(\.label)
        #expect(Array(labels.prefix(3)) == ["0", "0.5", "1"])
    }

    @Test func aMissingValueIsMarkedNotApplicable() {
        let svg = report().svg()
        #expect(svg.components(separatedBy: "class=\"not-applicable\">n/a<").count == 2)
        // Bars: two for NDCG@10, one for RMSE, plus the legend's two swatches and the background.
        #expect(svg.components(separatedBy: "<rect ").count - 1 == 3 + 2 + 1)
    }
}
