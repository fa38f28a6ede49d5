import Foundation

/// Multinomial logistic regression with an L2 penalty on the weights, as scikit-learn's
/// `LogisticRegression()` with its defaults (lbfgs, `C = 1`, intercept fitted and not penalised):
/// it minimises
///
///     Σᵢ −log softmax(xᵢ·W + b)[yᵢ]  +  ‖W‖² / (2C)
///
/// over W (features × classes, one column per class, as sklearn's multinomial `coef_ᵀ`) and b.
/// The objective is strictly convex in W, so W is unique; b is unique up to adding one constant
/// to every class, and the fit keeps Σₖ bₖ = 0 (sklearn's lbfgs, started at zero, does the same).
/// Solved by L-BFGS to a small gradient, in Double: the line search compares objective values
/// that differ in their last digits near the optimum, where Float (`SoftmaxCrossEntropy`) is too coarse.
public struct LogisticRegression: Sendable, Equatable {
    /// features × classes.
    public var weights: [[Double]]
    public var intercepts: [Double]
    /// L-BFGS iterations the fit took.
    public var iterations: Int

    public var featureCount: Int { weights.count }
    public var classCount: Int { intercepts.count }

    public init(weights: [[Double]], intercepts: [Double], iterations: Int = 0) {
        precondition(weights.allSatisfy { $0.count == intercepts.count }, "every feature needs one weight per class")
        self.weights = weights
        self.intercepts = intercepts
        self.iterations = iterations
    }

    /// Fits rows `x` (samples × features) to `labels` in `0..<classCount`. `tolerance` bounds the
    /// largest gradient component of the objective divided by the sample count (sklearn's `tol`
    /// is 1e-4 with at most 100 iterations; the default here goes on to the optimum).
    public init(fitting x: [[Double]], labels: [Int], classCount: Int, inverseRegularisation c: Double = 1,
                tolerance: Double = 1e-9, maximumIterations: Int = 10_000) {
        precondition(!x.isEmpty && x.count == labels.count, "\(x.count) samples, \(labels.count) labels")
        precondition(classCount >= 2 && labels.allSatisfy { (0..<classCount).contains($0) }, "labels must lie in 0..<\(classCount) (≥ 2 classes)")
        precondition(c > 0 && c.isFinite, "C = \(c) must be > 0")
        let d = x[0].count
        precondition(x.allSatisfy { $0.count == d }, "every sample needs \(d) features")
        let problem = Problem(x: x, labels: labels, classCount: classCount, c: c)
        let scale = 1 / Double(x.count)
        let (theta, iterations) = LBFGS.minimise(start: [Double](repeating: 0, count: (d + 1) * classCount), tolerance: tolerance,
                                                 maximumIterations: maximumIterations) { theta in
            let (value, gradient) = problem.objective(theta)
            return (value * scale, gradient.map { $0 * scale })
        }
        var model = problem.model(theta)
        let shift = model.intercepts.reduce(0, +) / Double(classCount)
        model.intercepts = model.intercepts.map { $0 - shift }
        model.iterations = iterations
        self = model
    }

    /// Class probabilities of one sample.
    public func probabilities(_ sample: [Double]) -> [Double] {
        precondition(sample.count == featureCount, "sample has \(sample.count) features, the model \(featureCount)")
        var z = intercepts
        for (f, value) in sample.enumerated() where value != 0 { for k in z.indices { z[k] += value * weights[f][k] } }
        let top = z.max()!
        let e = z.map { Foundation.exp($0 - top) }
        let sum = e.reduce(0, +)
        return e.map { $0 / sum }
    }

    /// The most probable class (the lowest index on a tie, as numpy's argmax).
    public func predict(_ sample: [Double]) -> Int {
        let p = probabilities(sample)
        return p.indices.max { p[$0] < p[$1] || (p[$0] == p[$1] && $0 > $1) }!
    }

    /// The objective and its gradient at W and b packed as θ = [W row by row (feature-major), b],
    /// undivided by the sample count. Exposed for the finite-difference test.
    public struct Problem: Sendable {
        let x: [[Double]]
        let labels: [Int]
        let classCount: Int
        let c: Double

        public init(x: [[Double]], labels: [Int], classCount: Int, c: Double) {
            self.x = x
            self.labels = labels
            self.classCount = classCount
            self.c = c
        }

        var featureCount: Int { x[0].count }

        func model(_ theta: [Double]) -> LogisticRegression {
            let k = classCount, d = featureCount
            return LogisticRegression(weights: (0..<d).map { f in Array(theta[(f * k)..<((f + 1) * k)]) },
                                      intercepts: Array(theta[(d * k)...]))
        }

        public func objective(_ theta: [Double]) -> (value: Double, gradient: [Double]) {
            let k = classCount, d = featureCount
            precondition(theta.count == (d + 1) * k, "θ has \(theta.count) values, need \((d + 1) * k)")
            var value = 0.0
            var gradient = [Double](repeating: 0, count: theta.count)
            var z = [Double](repeating: 0, count: k)
            for (sample, label) in zip(x, labels) {
                for j in 0..<k { z[j] = theta[d * k + j] }
                for f in 0..<d where sample[f] != 0 { for j in 0..<k { z[j] += sample[f] * theta[f * k + j] } }
                let top = z.max()!
                var sum = 0.0
                for j in 0..<k { z[j] = Foundation.exp(z[j] - top); sum += z[j] }
                // −log p(label) = log Σ exp(z) − z[label], from the shifted values.
                value -= Foundation.log(z[label] / sum)
                for j in 0..<k {
                    let residual = z[j] / sum - (j == label ? 1 : 0)
                    gradient[d * k + j] += residual
                    for f in 0..<d where sample[f] != 0 { gradient[f * k + j] += residual * sample[f] }
                }
            }
            for i in 0..<(d * k) {
                value += theta[i] * theta[i] / (2 * c)
                gradient[i] += theta[i] / c
            }
            return (value, gradient)
        }
    }
}

/// Limited-memory BFGS (Nocedal & Wright, algorithm 7.4: ten correction pairs, the two-loop
/// recursion) with a backtracking Armijo line search; a pair whose curvature sᵀy is not positive
/// is not stored, so the implied Hessian stays positive definite.
enum LBFGS {
    static func minimise(start: [Double], tolerance: Double, maximumIterations: Int, memory: Int = 10,
                         objective: ([Double]) -> (value: Double, gradient: [Double])) -> (minimum: [Double], iterations: Int) {
        func dot(_ a: [Double], _ b: [Double]) -> Double { zip(a, b).reduce(0) { $0 + $1.0 * $1.1 } }
        var x = start
        var (f, g) = objective(x)
        var pairs: [(s: [Double], y: [Double], rho: Double)] = []
        var iteration = 0
        while iteration < maximumIterations, g.map(abs).max()! > tolerance {
            iteration += 1
            // Two-loop recursion: direction = −H·g.
            var q = g
            var alphas = [Double](repeating: 0, count: pairs.count)
            for i in pairs.indices.reversed() {
                alphas[i] = pairs[i].rho * dot(pairs[i].s, q)
                for j in q.indices { q[j] -= alphas[i] * pairs[i].y[j] }
            }
            if let last = pairs.last {
                let gamma = dot(last.s, last.y) / dot(last.y, last.y)
                q = q.map { $0 * gamma }
            } else {
                // First step: length 1 in θ, so the line search starts on the problem's own scale.
                let norm = dot(g, g).squareRoot()
                q = q.map { $0 / norm }
            }
            for i in pairs.indices {
                let beta = pairs[i].rho * dot(pairs[i].y, q)
                for j in q.indices { q[j] += pairs[i].s[j] * (alphas[i] - beta) }
            }
            var direction = q.map { -$0 }
            var slope = dot(g, direction)
            if slope >= 0 {
                // Not a descent direction (rounding): restart from steepest descent.
                pairs.removeAll()
                direction = g.map { -$0 }
                slope = -dot(g, g)
            }
            var step = 1.0
            var candidate = x, next = (value: f, gradient: g)
            var accepted = false
            for _ in 0..<60 {
                for j in x.indices { candidate[j] = x[j] + step * direction[j] }
                next = objective(candidate)
                if next.value <= f + 1e-4 * step * slope { accepted = true; break }
                step /= 2
            }
            guard accepted else { break }  // no decrease left at rounding level: as close as Double gets
            let s = zip(candidate, x).map { $0 - $1 }, y = zip(next.gradient, g).map { $0 - $1 }
            let curvature = dot(s, y)
            if curvature > 1e-12 * dot(s, s).squareRoot() * dot(y, y).squareRoot() {
                pairs.append((s, y, 1 / curvature))
                if pairs.count > memory { pairs.removeFirst() }
            }
            x = candidate
            (f, g) = next
        }
        return (x, iteration)
    }
}
