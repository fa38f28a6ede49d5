import Foundation
import TimbreCore

/// Mean with a normal-approximation 95% interval (1.96 standard errors): the per-user values of
/// a metric are many (hundreds) and bounded, so the t correction is negligible.
public struct MeanInterval: Sendable {
    public var mean: Double, lower: Double, upper: Double

    public init(_ values: [Double]) {
        let n = Double(values.count)
        mean = values.reduce(0, +) / max(n, 1)
        guard values.count > 1 else { (lower, upper) = (mean, mean); return }
        let m = mean
        let variance = values.reduce(0) { $0 + ($1 - m) * ($1 - m) } / (n - 1)
        let half = 1.959964 * (variance / n).squareRoot()
        (lower, upper) = (mean - half, mean + half)
    }
}

/// Paired test on per-unit differences (same users, same folds): a z-test on the mean
/// difference, two-sided. Returns 1 when every difference is 0.
func pairedPValue(_ a: [Double], _ b: [Double]) -> Double {
    precondition(a.count == b.count)
    let d = zip(a, b).map { $0 - $1 }
    let n = Double(d.count)
    guard d.count > 1 else { return 1 }
    let mean = d.reduce(0, +) / n
    let variance = d.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / (n - 1)
    guard variance > 0 else { return mean == 0 ? 1 : 0 }
    let z = abs(mean) / (variance / n).squareRoot()
    return erfc(z / 2.0.squareRoot())
}

/// The errors of one user in one fold, the unit rating metrics are resampled by.
struct ErrorUnit: Sendable {
    var fold: Int
    var squared: Double
    var absolute: Double
    var count: Int
}

/// RMSE or MAE as Surprise reports it (the mean of per-fold values), with a bootstrap interval
/// that resamples users within each fold, and a paired bootstrap p-value against a reference
/// (the same resampled users for both strategies).
struct ErrorStatistic {
    enum Kind { case rmse, mae }

    static func value(_ units: [ErrorUnit], folds: Int, _ kind: Kind, weights: [Double]? = nil) -> Double {
        var num = [Double](repeating: 0, count: folds), den = [Double](repeating: 0, count: folds)
        for (i, u) in units.enumerated() {
            let w = weights?[i] ?? 1
            num[u.fold] += w * (kind == .rmse ? u.squared : u.absolute)
            den[u.fold] += w * Double(u.count)
        }
        var sum = 0.0, used = 0
        for f in 0..<folds where den[f] > 0 {
            sum += kind == .rmse ? (num[f] / den[f]).squareRoot() : num[f] / den[f]
            used += 1
        }
        return used > 0 ? sum / Double(used) : .nan
    }

    /// Resampling weights (how often each unit is drawn), drawn within folds.
    static func resamples(_ units: [ErrorUnit], folds: Int, count: Int, seed: UInt64) -> [[Double]] {
        var rng = SeededGenerator(seed: seed)
        var members = [[Int]](repeating: [], count: folds)
        for (i, u) in units.enumerated() { members[u.fold].append(i) }
        return (0..<count).map { _ in
            var w = [Double](repeating: 0, count: units.count)
            for m in members where !m.isEmpty {
                for _ in m.indices { w[m[rng.below(m.count)]] += 1 }
            }
            return w
        }
    }

    static func percentile(_ sorted: [Double], _ p: Double) -> Double {
        guard !sorted.isEmpty else { return .nan }
        let pos = p * Double(sorted.count - 1)
        let lo = Int(pos.rounded(.down)), hi = min(lo + 1, sorted.count - 1)
        return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - Double(lo))
    }
}

/// Which paired test compares per-user ranking metrics with the reference strategy.
public enum PairedTest: String, Codable, Sendable, CaseIterable, CustomStringConvertible {
    /// z-test on the mean of the per-unit differences.
    case zTest = "z-test"
    /// Wilcoxon signed-rank: no normality assumed; per-user metrics are bounded and skewed.
    case wilcoxon

    public var description: String {
        switch self {
        case .zTest: "paired z-test over users"
        case .wilcoxon: "Wilcoxon signed-rank over users"
        }
    }
}

/// Wilcoxon signed-rank test of paired values, two-sided, as scipy.stats.wilcoxon(method="approx")
/// computes it: zero differences dropped (Wilcoxon's rule), average ranks for ties of |d|, normal
/// approximation with the tie correction and no continuity correction. Ours compare hundreds of
/// users, where the exact distribution is not needed.
struct WilcoxonSignedRank: Equatable {
    /// Non-zero differences.
    var n: Int
    /// Rank sums of the positive and negative differences.
    var positive: Double
    var negative: Double
    /// (min(W+, W−) − n(n+1)/4) / σ, so never positive.
    var z: Double
    var pValue: Double

    init(_ a: [Double], _ b: [Double]) {
        precondition(a.count == b.count)
        let d = zip(a, b).map { $0 - $1 }.filter { $0 != 0 }
        n = d.count
        guard n > 0 else { (positive, negative, z, pValue) = (0, 0, 0, 1); return }
        let order = d.indices.sorted { abs(d[$0]) < abs(d[$1]) }
        var ranks = [Double](repeating: 0, count: n)
        var tieTerm = 0.0
        var start = 0
        while start < n {
            // Differences equal up to rounding (0.3 − 0.1 against 0.2) are one tie.
            var end = start + 1
            let value = abs(d[order[start]])
            while end < n, abs(d[order[end]]) - value <= 1e-12 * max(1, value) { end += 1 }
            let average = Double(start + end + 1) / 2 // ranks start+1 … end
            for k in start..<end { ranks[order[k]] = average }
            let t = Double(end - start)
            tieTerm += t * t * t - t
            start = end
        }
        positive = zip(d, ranks).filter { $0.0 > 0 }.reduce(0) { $0 + $1.1 }
        negative = zip(d, ranks).filter { $0.0 < 0 }.reduce(0) { $0 + $1.1 }
        let nn = Double(n)
        let variance = nn * (nn + 1) * (2 * nn + 1) / 24 - tieTerm / 48
        guard variance > 0 else { (z, pValue) = (0, 1); return }
        z = (min(positive, negative) - nn * (nn + 1) / 4) / variance.squareRoot()
        pValue = min(1, erfc(abs(z) / 2.0.squareRoot()))
    }
}

/// Holm–Bonferroni step-down adjustment of a family of p-values, returned in the input order:
/// the i-th smallest is multiplied by (m − i + 1), then made monotone and capped at 1. Rejecting
/// where the adjusted value is below α keeps the chance of any false discovery in the family ≤ α.
public func holmAdjusted(_ p: [Double]) -> [Double] {
    let m = p.count
    let order = p.indices.sorted { p[$0] < p[$1] }
    var adjusted = [Double](repeating: 1, count: m)
    var running = 0.0
    for (rank, index) in order.enumerated() {
        running = max(running, min(1, Double(m - rank) * p[index]))
        adjusted[index] = running
    }
    return adjusted
}
