import Foundation
import Testing
import TimbreCore
@testable import TimbreNeural

/// The linear probe's model: multinomial L2 logistic regression (sklearn's defaults).
@Suite struct LogisticRegressionTests {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures")

    static func rows(_ file: String) throws -> [[String]] {
        let text = try String(contentsOf: fixtures.appendingPathComponent(file), encoding: .utf8)
        return text.split(whereSeparator: \.isNewline).dropFirst().map { $0.split(separator: ",").map(String.init) }
    }

    /// Three classes, five features, a penalty of C = 0.5, at an arbitrary θ: every component of
    /// the gradient against central differences of the objective.
    @Test func gradientMatchesFiniteDifferences() {
        var rng = SeededGenerator(seed: 7)
        let x = (0..<9).map { _ in (0..<5).map { _ in rng.unit() * 4 - 2 } }
        let problem = LogisticRegression.Problem(x: x, labels: (0..<9).map { $0 % 3 }, classCount: 3, c: 0.5)
        let theta = (0..<18).map { _ in rng.unit() * 2 - 1 }
        let (_, gradient) = problem.objective(theta)
        let h = 1e-6
        for i in theta.indices {
            var plus = theta, minus = theta
            plus[i] += h
            minus[i] -= h
            let numeric = (problem.objective(plus).value - problem.objective(minus).value) / (2 * h)
            #expect(abs(numeric - gradient[i]) < 1e-6 * max(1, abs(gradient[i])), "θ[\(i)]: \(numeric) vs \(gradient[i])")
        }
    }

    /// Separable by hand: x = −1 is class 0, x = +1 class 1, C = 1. By symmetry b = 0 and
    /// W = (−w, w); the objective 2·log(1 + e^(−2w)) + w² is least where w = 2 / (1 + e^(2w))
    /// (w ≈ 0.5213): finite, though the classes are separable, because of the penalty.
    @Test func separableCaseByHand() {
        let model = LogisticRegression(fitting: [[-1], [1]], labels: [0, 1], classCount: 2)
        let w = model.weights[0][1]
        #expect(abs(model.weights[0][0] + w) < 1e-8)
        #expect(abs(w - 2 / (1 + exp(2 * w))) < 1e-8)
        #expect(w > 0.52 && w < 0.523)
        #expect(model.intercepts.allSatisfy { abs($0) < 1e-8 })
        #expect(model.predict([-1]) == 0 && model.predict([1]) == 1)
        #expect(abs(model.probabilities([1])[1] - 1 / (1 + exp(-2 * w))) < 1e-12)
    }

    /// scikit-learn 1.9.1's `LogisticRegression(C=…)` (tolerance tightened to reach the optimum) on
    /// 36 samples, 4 features, 3 overlapping classes, written by scripts/logistic-reference.py.
    /// Tolerance 1e-6 on every weight and intercept (both fits stop at gradients far below that).
    @Test func agreesWithScikitLearn() throws {
        let data = try Self.rows("logistic-data.csv")
        let x = data.map { $0.dropLast().map { Double($0)! } }, labels = data.map { Int($0.last!)! }
        let reference = try Self.rows("logistic-sklearn.csv")
        #expect(x.count == 36 && reference.count == 6)
        for c in [1.0, 0.25] {
            let model = LogisticRegression(fitting: x, labels: labels, classCount: 3, inverseRegularisation: c)
            for row in reference where Double(row[0]) == c {
                let k = Int(row[1])!
                #expect(abs(model.intercepts[k] - Double(row[2])!) < 1e-6, "C \(c) class \(k) intercept \(model.intercepts[k]) vs \(row[2])")
                for f in 0..<4 {
                    #expect(abs(model.weights[f][k] - Double(row[3 + f])!) < 1e-6, "C \(c) class \(k) w\(f): \(model.weights[f][k]) vs \(row[3 + f])")
                }
            }
        }
    }
}
