import Foundation
import TimbreCore

/// Mean with a normal-approximation 95% interval (1.96 standard errors): the per-user values of
/// a metric are many (hundreds) and bounded, so the t correction is negligible.
struct MeanInterval {
    var mean: Double, lower: Double, upper: Double

    init(_ values: [Double]) {
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
