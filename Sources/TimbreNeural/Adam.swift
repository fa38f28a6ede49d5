import Foundation

/// Adam with Keras's defaults and update rule (keras.optimizers.Adam): the bias corrections fold
/// into the step size and ε is added to √v uncorrected:
/// α_t = lr·√(1−β₂ᵗ)/(1−β₁ᵗ), m ← β₁m + (1−β₁)g, v ← β₂v + (1−β₂)g², θ ← θ − α_t·m/(√v + ε).
public struct Adam: Sendable, Equatable {
    public var learningRate: Float
    public var beta1: Float
    public var beta2: Float
    public var epsilon: Float

    public init(learningRate: Float = 1e-3, beta1: Float = 0.9, beta2: Float = 0.999, epsilon: Float = 1e-7) {
        precondition(learningRate > 0 && (0..<1).contains(beta1) && (0..<1).contains(beta2) && epsilon > 0,
                     "Adam needs lr > 0, β in [0, 1), ε > 0")
        self.learningRate = learningRate
        self.beta1 = beta1
        self.beta2 = beta2
        self.epsilon = epsilon
    }

    /// First and second moment estimates of one parameter tensor.
    public struct Moments: Sendable, Equatable {
        var first: [Float]
        var second: [Float]

        public init(count: Int) {
            first = [Float](repeating: 0, count: count)
            second = first
        }
    }

    /// Applies update number `step` (counting from 1).
    public func update(_ parameters: inout [Float], gradient: [Float], moments: inout Moments, step: Int) {
        precondition(step >= 1, "Adam steps count from 1")
        precondition(gradient.count == parameters.count && moments.first.count == parameters.count,
                     "Adam: \(parameters.count) parameters, \(gradient.count) gradients, \(moments.first.count) moments")
        let t = Double(step)
        let alpha = Float(Double(learningRate) * (1 - pow(Double(beta2), t)).squareRoot() / (1 - pow(Double(beta1), t)))
        let b1 = beta1, b2 = beta2, eps = epsilon
        parameters.withUnsafeMutableBufferPointer { p in
        gradient.withUnsafeBufferPointer { g in
        moments.first.withUnsafeMutableBufferPointer { m in
        moments.second.withUnsafeMutableBufferPointer { v in
            for i in 0..<p.count {
                m[i] += (g[i] - m[i]) * (1 - b1)
                v[i] += (g[i] * g[i] - v[i]) * (1 - b2)
                p[i] -= alpha * m[i] / (v[i].squareRoot() + eps)
            }
        }}}}
    }
}
