import Foundation
import TimbreCore
import TimbreTerminal

public struct DatasetSummary: Codable, Sendable, Equatable {
    public var name: String
    public var users: Int
    public var items: Int
    public var ratings: Int
}

public struct PairedComparison: Codable, Sendable, Equatable {
    /// This strategy's value minus the first strategy's.
    public var difference: Double
    /// The test's own p-value, for this comparison alone.
    public var pValue: Double
    public var test: String
    /// 95% interval of the difference (nil in runs stored before intervals were recorded).
    public var lower: Double?
    public var upper: Double?
    /// Holm–Bonferroni adjusted over every comparison of the report (strategies × metrics).
    public var adjustedPValue: Double?

    public init(difference: Double, pValue: Double, test: String, lower: Double? = nil, upper: Double? = nil,
                adjustedPValue: Double? = nil) {
        self.difference = difference
        self.pValue = pValue
        self.test = test
        self.lower = lower
        self.upper = upper
        self.adjustedPValue = adjustedPValue
    }

    /// What significance marks use: the adjusted value where there is one.
    public var familyPValue: Double { adjustedPValue ?? pValue }
}

public struct MetricEstimate: Codable, Sendable, Equatable {
    public var name: String
    public var value: Double
    /// 95% interval.
    public var lower: Double
    public var upper: Double
    /// How many (fold, user) units the value is computed over.
    public var units: Int
    public var vsFirst: PairedComparison?
}

/// Wall-clock seconds summed over folds.
public struct StrategyTimings: Codable, Sendable, Equatable {
    public var fitSeconds = 0.0
    public var predictSeconds = 0.0
    public var recommendSeconds = 0.0
}

public struct StrategyResult: Codable, Sendable {
    public var label: String
    public var name: String
    public var parameters: Parameters
    public var metrics: [MetricEstimate]
    public var timings: StrategyTimings
    /// Rating predictions made, and how many of them came from a fallback instead of the model.
    public var predictions: Int
    public var fallbacks: [String: Int]
    /// Ranking metrics on slices of the units (`EvaluationSlice.standard`); nil without ranking
    /// metrics and in runs stored before slices.
    public var slices: [SliceResult]?

    public func metric(_ name: String) -> MetricEstimate? { metrics.first { $0.name == name } }

    public init(label: String, name: String, parameters: Parameters, metrics: [MetricEstimate], timings: StrategyTimings,
                predictions: Int, fallbacks: [String: Int], slices: [SliceResult]? = nil) {
        self.label = label
        self.name = name
        self.parameters = parameters
        self.metrics = metrics
        self.timings = timings
        self.predictions = predictions
        self.fallbacks = fallbacks
        self.slices = slices
    }

    public func slice(_ name: String) -> SliceResult? { slices?.first { $0.name == name } }
}

/// Everything a stored run needs: data, split, options, per-strategy parameters, metrics with
/// intervals and paired tests, timings.
public struct EvaluationReport: Codable, Sendable {
    public var dataset: DatasetSummary
    public var split: SplitSpec
    public var splitDescription: String
    public var folds: Int
    public var options: EvaluationOptions
    public var candidates: String
    public var strategies: [StrategyResult]
    /// Filled in by the host that stores the run (e.g. `git describe`); the library cannot know it.
    public var codeVersion: String?
    /// The catalog model whose item embeddings strategies that use them were given, filled in by the host.
    public var embeddingModel: Int64?
    /// What the data's values are: ratings, or per user–item play totals (then no RMSE/MAE).
    public var feedback: FeedbackKind
    /// The searches that chose the settings of tuned strategies (`evaluate --tuned`, `tune`).
    public var tuning: [TuningRecord]?
    public var intervals: String

    public init(dataset: DatasetSummary, split: SplitSpec, splitDescription: String, folds: Int, options: EvaluationOptions,
                candidates: String, strategies: [StrategyResult], codeVersion: String? = nil, feedback: FeedbackKind = .ratings,
                intervals: String = "95%: bootstrap over users within folds for RMSE/MAE, mean ± 1.96 SE over (fold, user) units otherwise") {
        self.feedback = feedback
        self.dataset = dataset
        self.split = split
        self.splitDescription = splitDescription
        self.folds = folds
        self.options = options
        self.candidates = candidates
        self.strategies = strategies
        self.codeVersion = codeVersion
        self.intervals = intervals
    }

    public var metricNames: [String] {
        var seen: [String] = []
        for s in strategies { for m in s.metrics where !seen.contains(m.name) { seen.append(m.name) } }
        return seen
    }

    /// The feedback line of reports.
    public var feedbackDescription: String {
        switch feedback {
        case .ratings: "ratings"
        case .plays: "plays (per user–item totals); no RMSE/MAE: they measure error on a rating scale, which play counts are not"
        }
    }

    // MARK: rendering

    public func json() throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        return String(decoding: try encoder.encode(self), as: UTF8.self)
    }

    /// Long format: one row per strategy and metric (timings included), for scripts; then the
    /// slices' rows, which name their slice in the last column (empty: all units).
    public func csv() -> String {
        var lines = ["strategy,parameters,metric,value,lower,upper,units,diff_vs_first,p_vs_first,diff_lower,diff_upper,p_holm,slice"]
        func text(_ v: Double?) -> String { v.map { String($0) } ?? "" }
        for s in strategies {
            let head = "\(csvField(s.label)),\(csvField(s.parameters.summary))"
            for m in s.metrics {
                let c = m.vsFirst
                lines.append("\(head),\(m.name),\(m.value),\(m.lower),\(m.upper),\(m.units),\(text(c?.difference)),\(text(c?.pValue)),"
                             + "\(text(c?.lower)),\(text(c?.upper)),\(text(c?.adjustedPValue)),")
            }
            for (name, v) in [("fit_seconds", s.timings.fitSeconds), ("predict_seconds", s.timings.predictSeconds),
                              ("recommend_seconds", s.timings.recommendSeconds)] {
                lines.append("\(head),\(name),\(v),,,,,,,,,")
            }
        }
        lines += sliceCSVRows()
        return lines.joined(separator: "\n") + "\n"
    }

    /// How many paired comparisons the report makes: the family Holm's adjustment runs over.
    public var comparisonCount: Int { strategies.reduce(0) { $0 + $1.metrics.filter { $0.vsFirst != nil }.count } }

    /// Metrics down, strategies across; each cell is value ± half-interval, `*` when the paired
    /// test against the first strategy gives p < 0.05 after Holm's adjustment; then each
    /// strategy's difference from the first with its interval and adjusted p.
    public func table() -> String {
        let reference = strategies.first?.label ?? "-"
        let adjusted = strategies.contains { $0.metrics.contains { $0.vsFirst?.adjustedPValue != nil } }
        let family = adjusted
            ? "Holm–Bonferroni adjusted over the \(comparisonCount) comparisons (strategies × metrics) of this report"
            : "not adjusted for multiple comparisons"
        let out = """
        dataset     \(dataset.name): \(dataset.users) users, \(dataset.items) items, \(dataset.ratings) \(feedback == .plays ? "played user–item pairs" : "ratings")\(embeddingModel.map { "; item embeddings of model #\($0)" } ?? "")
        feedback    \(feedbackDescription)
        split       \(splitDescription), \(folds) fold\(folds == 1 ? "" : "s")
        candidates  \(candidates)
        relevance   \(options.relevance), top-\(options.cutoff)
        intervals   \(intervals)
        tests       vs \(reference): \(options.pairedTest) for per-user metrics, paired bootstrap for RMSE/MAE; \(family); * = p < 0.05

        """
        var rows: [[String]] = [["metric"] + strategies.map(\.label)]
        for name in metricNames {
            rows.append([name] + strategies.map { s in
                guard let m = s.metric(name) else { return "–" }
                let half = (m.upper - m.lower) / 2
                let star = (m.vsFirst?.familyPValue ?? 1) < 0.05 ? "*" : " "
                return String(format: "%.4f ±%.4f%@", m.value, half, star)
            })
        }
        rows.append(["fallback predictions"] + strategies.map { s in
            let f = s.fallbacks.values.reduce(0, +)
            return s.predictions == 0 ? "–" : String(format: "%d/%d", f, s.predictions)
        })
        for (name, get) in [("fit s", \StrategyTimings.fitSeconds), ("predict s", \.predictSeconds), ("recommend s", \.recommendSeconds)] {
            rows.append([name] + strategies.map { String(format: "%.3f", $0.timings[keyPath: get]) })
        }
        var text = out + renderTable(rows[0], Array(rows.dropFirst()), rightAligned: Set(1..<rows[0].count)) + "\n"
        let others = Array(strategies.dropFirst())
        if !others.isEmpty {
            var diffs: [[String]] = []
            for name in metricNames {
                let cells = others.map { s -> String in
                    guard let c = s.metric(name)?.vsFirst else { return "–" }
                    let interval = c.lower.flatMap { lo in c.upper.map { String(format: " [%+.4f, %+.4f]", lo, $0) } } ?? ""
                    return String(format: "%+.4f%@ p %.3g", c.difference, interval, c.familyPValue)
                }
                if cells.contains(where: { $0 != "–" }) { diffs.append([name] + cells) }
            }
            if !diffs.isEmpty {
                text += "\ndifference vs \(reference) [95% interval], \(adjusted ? "Holm-adjusted " : "")p\n"
                text += renderTable(["metric"] + others.map(\.label), diffs, rightAligned: Set(1...others.count)) + "\n"
            }
        }
        return text + slicesTable()
    }

    /// One panel per metric, one bar per strategy with its 95% interval as a whisker.
    public func svg() -> String {
        let names = metricNames
        let colours = ["#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2", "#edc948", "#b07aa1", "#ff9da7"]
        let panelW = 240.0, panelH = 180.0, columns = 4
        let rows = (names.count + columns - 1) / columns
        let legendH = 24.0 * Double(strategies.count) + 16
        let width = panelW * Double(columns), height = panelH * Double(rows) + legendH + 30
        func esc(_ s: String) -> String {
            s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;").replacingOccurrences(of: ">", with: "&gt;")
        }
        var svg = """
        <svg xmlns="http://www.w3.org/2000/svg" width="\(Int(width))" height="\(Int(height))" font-family="sans-serif" font-size="11">
        <rect width="100%" height="100%" fill="white"/>
        <text x="8" y="18" font-size="13">\(esc(dataset.name)): \(esc(splitDescription)); bars = mean, whiskers = 95% interval</text>

        """
        for (p, name) in names.enumerated() {
            let x0 = panelW * Double(p % columns), y0 = 30 + panelH * Double(p / columns)
            // A strategy without a finite value for the metric (e.g. no rating predictions) is "not
            // applicable": marked so, never drawn as a bar of height zero.
            let ms = strategies.map { $0.metric(name).flatMap { $0.value.isFinite ? $0 : nil } }
            let axis = Self.axisTop(name, highest: ms.compactMap { $0.map { max($0.value, $0.upper) } }.max())
            let ticks = [0.0, axis / 2, axis].map { String(format: "%.3g", $0) }
            // The labels sit right-aligned left of the axis: leave room for the longest (≈ 6.5 px a
            // character at 11 px), so none runs past the panel's edge.
            let labelRoom = 6.5 * Double(ticks.map(\.count).max() ?? 1) + 10
            let plotTop = y0 + 22, plotBottom = y0 + panelH - 20, plotLeft = x0 + labelRoom, plotRight = x0 + panelW - 10
            func y(_ v: Double) -> Double { plotBottom - (plotBottom - plotTop) * max(0, min(v, axis)) / axis }
            svg += "<text x=\"\(x0 + panelW / 2)\" y=\"\(y0 + 14)\" text-anchor=\"middle\" font-weight=\"bold\">\(esc(name))</text>\n"
            svg += "<line x1=\"\(plotLeft)\" y1=\"\(plotBottom)\" x2=\"\(plotRight)\" y2=\"\(plotBottom)\" stroke=\"#333\"/>\n"
            svg += "<line x1=\"\(plotLeft)\" y1=\"\(plotTop)\" x2=\"\(plotLeft)\" y2=\"\(plotBottom)\" stroke=\"#333\"/>\n"
            for (tick, label) in zip([0.0, axis / 2, axis], ticks) {
                svg += "<text x=\"\(plotLeft - 4)\" y=\"\(y(tick) + 4)\" text-anchor=\"end\">\(label)</text>\n"
            }
            let slot = (plotRight - plotLeft) / Double(max(strategies.count, 1))
            for (s, m) in ms.enumerated() {
                guard let m else {
                    let cx = plotLeft + slot * (Double(s) + 0.5)
                    svg += "<text x=\"\(cx)\" y=\"\(plotBottom - 6)\" text-anchor=\"middle\" fill=\"#888\" font-style=\"italic\" class=\"not-applicable\">n/a</text>\n"
                    continue
                }
                let bx = plotLeft + slot * Double(s) + slot * 0.15, bw = slot * 0.7, cx = bx + bw / 2
                svg += "<rect x=\"\(bx)\" y=\"\(y(m.value))\" width=\"\(bw)\" height=\"\(plotBottom - y(m.value))\" fill=\"\(colours[s % colours.count])\"/>\n"
                svg += "<line x1=\"\(cx)\" y1=\"\(y(m.lower))\" x2=\"\(cx)\" y2=\"\(y(m.upper))\" stroke=\"black\"/>\n"
                for v in [m.lower, m.upper] {
                    svg += "<line x1=\"\(cx - 4)\" y1=\"\(y(v))\" x2=\"\(cx + 4)\" y2=\"\(y(v))\" stroke=\"black\"/>\n"
                }
            }
        }
        let ly = 30 + panelH * Double(rows) + 8
        for (s, strategy) in strategies.enumerated() {
            let yy = ly + 24 * Double(s)
            svg += "<rect x=\"10\" y=\"\(yy)\" width=\"14\" height=\"14\" fill=\"\(colours[s % colours.count])\"/>\n"
            let legend = strategy.label == strategy.name && !strategy.parameters.values.isEmpty
                ? "\(strategy.label) (\(strategy.parameters.summary))" : strategy.label
            svg += "<text x=\"30\" y=\"\(yy + 11)\">\(esc(legend))</text>\n"
        }
        return svg + "</svg>\n"
    }

    /// The top of a metric panel's axis: 10 % above the highest value or interval end, but a
    /// proportion (every metric except the rating errors RMSE and MAE) never past 1, so a chart
    /// does not suggest NDCG above 1 (an interval that reaches past 1 is cut at the axis).
    public static func axisTop(_ metric: String, highest: Double?) -> Double {
        let top = max(highest ?? 1, 1e-9) * 1.1
        return metric == "RMSE" || metric == "MAE" ? top : min(top, 1)
    }
}
