import Foundation
import TimbreCore

/// A fully connected layer, Keras `Dense(outputSize)` without activation: y = x·W + b with
/// `kernel` [inputSize × outputSize] (Glorot-uniform) and `bias` [outputSize] (zero).
public struct DenseLayer: Sendable, Equatable {
    public var kernel: Matrix
    public var bias: [Float]

    public var inputSize: Int { kernel.rows }
    public var outputSize: Int { kernel.columns }

    public init(inputSize: Int, outputSize: Int, generator rng: inout SeededGenerator) {
        precondition(inputSize >= 1 && outputSize >= 1, "a dense layer needs ≥ 1 input and output (got \(inputSize), \(outputSize))")
        self.init(kernel: Initialiser.glorotUniform(rows: inputSize, columns: outputSize, &rng),
                  bias: [Float](repeating: 0, count: outputSize))
    }

    public init(kernel: Matrix, bias: [Float]) {
        precondition(kernel.rows >= 1 && kernel.columns >= 1, "a dense layer needs ≥ 1 input and output")
        precondition(bias.count == kernel.columns, "bias has \(bias.count) values, the kernel \(kernel.columns) outputs")
        self.kernel = kernel
        self.bias = bias
    }

    public struct Gradients: Sendable, Equatable {
        public var kernel: [Float]
        public var bias: [Float]

        mutating func add(_ other: Gradients) {
            for i in kernel.indices { kernel[i] += other.kernel[i] }
            for i in bias.indices { bias[i] += other.bias[i] }
        }
    }

    /// One output row per input row.
    public func outputs(_ input: Matrix) -> Matrix {
        precondition(input.columns == inputSize, "dense layer takes \(inputSize) inputs, got \(input.columns)")
        var y = BLAS.multiply(input, by: kernel)
        for r in 0..<y.rows { for j in 0..<outputSize { y.values[r * outputSize + j] += bias[j] } }
        return y
    }

    public func backward(input: Matrix, outputGradient: Matrix) -> (gradients: Gradients, inputGradient: Matrix) {
        precondition(input.columns == inputSize && outputGradient.columns == outputSize && input.rows == outputGradient.rows,
                     "dense backward: input \(input.rows)×\(input.columns) and gradient \(outputGradient.rows)×\(outputGradient.columns) do not fit a \(inputSize)→\(outputSize) layer")
        var bias = [Float](repeating: 0, count: outputSize)
        for r in 0..<outputGradient.rows { for j in 0..<outputSize { bias[j] += outputGradient.values[r * outputSize + j] } }
        let kernelGradient = BLAS.multiply(input, transposeA: true, by: outputGradient)
        let inputGradient = BLAS.multiply(outputGradient, by: kernel, transposeB: true)
        return (Gradients(kernel: kernelGradient.values, bias: bias), inputGradient)
    }
}

/// Softmax over each row and the categorical cross-entropy of integer labels, as Keras's
/// `softmax` activation with `sparse_categorical_crossentropy`.
public enum SoftmaxCrossEntropy {
    public static func probabilities(_ logits: Matrix) -> Matrix {
        var p = logits
        for r in 0..<p.rows {
            let row = r * p.columns
            // Shifting by the row maximum keeps exp from overflowing; softmax is unchanged.
            let top = p.values[row..<(row + p.columns)].max()!
            var sum: Float = 0
            for j in 0..<p.columns { let e = expf(p.values[row + j] - top); p.values[row + j] = e; sum += e }
            for j in 0..<p.columns { p.values[row + j] /= sum }
        }
        return p
    }

    /// Σ −log p(label) over the rows, divided by `divisor` (the mini-batch size, so that shards
    /// of one batch add up to the batch mean), and its gradient with respect to the logits.
    public static func loss(logits: Matrix, labels: [Int], divisor: Int) -> (loss: Double, logitGradient: Matrix) {
        precondition(labels.count == logits.rows, "\(labels.count) labels for \(logits.rows) rows")
        var gradient = probabilities(logits)
        var loss = 0.0
        let scale = 1 / Float(divisor)
        for (r, label) in labels.enumerated() {
            precondition((0..<logits.columns).contains(label), "label \(label) outside 0..<\(logits.columns)")
            let row = r * logits.columns
            loss -= log(Double(max(gradient.values[row + label], .leastNormalMagnitude)))
            gradient.values[row + label] -= 1
            for j in 0..<logits.columns { gradient.values[row + j] *= scale }
        }
        return (loss / Double(divisor), gradient)
    }
}
