import TimbreCore
import TimbreTerminal

/// A slice of a report: a filter on its (fold, user, relevant items) units. For each unit it
/// either leaves the unit out or keeps it with a relevant set restricted to the slice; the
/// ranked list is never changed, so a recommended item outside the slice takes a position but
/// never counts as a hit. Slices depend only on the fold (never on a strategy), so every
/// strategy is scored on the same units of a slice, in the same order.
public struct EvaluationSlice: Sendable {
    public var name: String
    public var description: String
    /// The unit's relevant set within the slice, nil to leave the unit out.
    let restrict: @Sendable (_ fold: SliceFold, _ unit: Int) -> Set<Int32>?

    /// Users whose training profile in the fold has at most `maxInteractions` interactions:
    /// their whole relevant set counts.
    public static func fewInteractions(atMost maxInteractions: Int = 10) -> EvaluationSlice {
        EvaluationSlice(name: "users ≤\(maxInteractions) training interactions",
                        description: "users with at most \(maxInteractions) interactions in the fold's training part; all their relevant items") { fold, t in
            fold.trainingCounts[t] <= maxInteractions ? fold.relevant[t] : nil
        }
    }

    /// Relevant set restricted to long-tail items (see `SliceFold.longTail`); users with no
    /// relevant long-tail item are left out.
    public static func longTail(headShare: Double = 0.2) -> EvaluationSlice {
        let percent = Int((headShare * 100).rounded())
        return EvaluationSlice(name: "long-tail items",
                               description: "relevant set restricted to items outside the most popular \(percent)% by the fold's training interactions "
                                   + "(head: items with at least as many as the ⌈\(percent)%·I⌉-th most popular, I = items with a training interaction); "
                                   + "hits only on long-tail items; users with no relevant long-tail item left out") { fold, t in
            let tail = fold.longTail(headShare: headShare)
            let kept = fold.relevant[t].filter { tail[Int($0)] }
            return kept.isEmpty ? nil : kept
        }
    }

    /// Relevant set restricted to items with no training interaction in the fold (new items);
    /// users with none left out.
    public static let newItems = EvaluationSlice(
        name: "new items",
        description: "relevant set restricted to items with no interaction in the fold's training part; users with none left out") { fold, t in
        let kept = fold.relevant[t].filter { fold.popularity[Int($0)] == 0 }
        return kept.isEmpty ? nil : kept
    }

    /// The slices every report carries: few-interaction users and long-tail items, plus new items
    /// for a cold-items split (where every held-out item is new, so that slice equals the whole
    /// report unless relevance filters some held-out items out; it is kept so cold-item reports
    /// have the same shape as the block other reports compare against).
    public static func standard(for split: SplitSpec.Method) -> [EvaluationSlice] {
        var slices = [fewInteractions(), longTail()]
        if case .coldItems = split { slices.append(newItems) }
        return slices
    }
}

/// What slice filters read about one fold: per test user their training-profile size and
/// relevant set, and the items' training popularity.
public struct SliceFold: Sendable {
    public let trainingCounts: [Int]
    public let relevant: [Set<Int32>]
    public let popularity: [Int]
    private let tails: [Double: [Bool]]

    public init(trainingCounts: [Int], relevant: [Set<Int32>], popularity: [Int], headShares: [Double] = [0.2]) {
        self.trainingCounts = trainingCounts
        self.relevant = relevant
        self.popularity = popularity
        tails = Dictionary(uniqueKeysWithValues: headShares.map { ($0, Self.longTail(popularity: popularity, headShare: $0)) })
    }

    func longTail(headShare: Double) -> [Bool] {
        tails[headShare] ?? Self.longTail(popularity: popularity, headShare: headShare)
    }

    /// `true` for items outside the head. The head is every item with at least as many training
    /// interactions as the ⌈share·I⌉-th most popular item (I = items with at least one): ties
    /// at the boundary all go to the head, so the split never depends on item order. Items with
    /// no training interaction are always long-tail.
    public static func longTail(popularity: [Int], headShare: Double) -> [Bool] {
        let counts = popularity.filter { $0 > 0 }.sorted(by: >)
        guard !counts.isEmpty else { return popularity.map { _ in true } }
        let headSize = max(1, Int((headShare * Double(counts.count)).rounded(.up)))
        let threshold = counts[min(headSize, counts.count) - 1]
        return popularity.map { $0 < threshold }
    }
}

/// One slice's per-unit ranking metrics for one strategy, accumulated over folds.
struct SliceCollector {
    /// Per kept unit: P, R, NDCG, AP, RR, hit.
    var units: [[Double]] = []

    mutating func add(lists: [[Int32]], slice: EvaluationSlice, fold: SliceFold, cutoff: Int) {
        for (t, list) in lists.enumerated() {
            guard let relevant = slice.restrict(fold, t),
                  let r = RankingMetrics(ranked: list, relevant: relevant, cutoff: cutoff) else { continue }
            units.append([r.precision, r.recall, r.ndcg, r.averagePrecision, r.reciprocalRank, r.hit])
        }
    }

    static func metricNames(cutoff n: Int) -> [String] { ["P@\(n)", "R@\(n)", "NDCG@\(n)", "MAP@\(n)", "MRR@\(n)", "HR@\(n)"] }

    func result(_ slice: EvaluationSlice, cutoff: Int) -> SliceResult {
        let metrics = Self.metricNames(cutoff: cutoff).enumerated().map { m, name in
            let interval = MeanInterval(units.map { $0[m] })
            return MetricEstimate(name: name, value: interval.mean, lower: interval.lower, upper: interval.upper,
                                  units: units.count, vsFirst: nil)
        }
        return SliceResult(name: slice.name, description: slice.description, units: units.count, metrics: units.isEmpty ? [] : metrics)
    }
}

/// A slice's ranking metrics for one strategy, each with its 95% interval over the slice's units.
/// Not part of the report's paired tests (nor of Holm's family).
public struct SliceResult: Codable, Sendable, Equatable {
    public var name: String
    public var description: String
    /// (fold, user) units in the slice.
    public var units: Int
    public var metrics: [MetricEstimate]

    public func metric(_ name: String) -> MetricEstimate? { metrics.first { $0.name == name } }
}

extension EvaluationReport {
    /// Slice names in order of first appearance.
    var sliceNames: [String] {
        var seen: [String] = []
        for s in strategies { for slice in s.slices ?? [] where !seen.contains(slice.name) { seen.append(slice.name) } }
        return seen
    }

    /// One compact block per slice: its units and headline ranking metrics per strategy.
    func slicesTable() -> String {
        let n = options.cutoff
        var text = ""
        for name in sliceNames {
            let results = strategies.map { $0.slices?.first { $0.name == name } }
            guard let first = results.compactMap({ $0 }).first else { continue }
            text += "\nslice: \(name) (\(first.units) units): \(first.description)\n"
            // An empty slice (no user that short on ML-100K, say) is one line, not a table of dashes.
            guard first.units > 0 else { continue }
            let rows = ["NDCG@\(n)", "R@\(n)", "HR@\(n)"].map { metric in
                [metric] + results.map { r -> String in
                    guard let m = r?.metric(metric) else { return "–" }
                    return String(format: "%.4f ±%.4f", m.value, (m.upper - m.lower) / 2)
                }
            }
            text += renderTable(["metric"] + strategies.map(\.label), rows, rightAligned: Set(1...strategies.count)) + "\n"
        }
        return text
    }

    /// CSV rows of the slices, in the report's columns with the slice name in the last one.
    func sliceCSVRows() -> [String] {
        var lines: [String] = []
        for s in strategies {
            for slice in s.slices ?? [] {
                for m in slice.metrics {
                    lines.append("\(csvField(s.label)),\(csvField(s.parameters.summary)),\(m.name),\(m.value),\(m.lower),\(m.upper),\(m.units),,,,,,\(csvField(slice.name))")
                }
            }
        }
        return lines
    }
}
