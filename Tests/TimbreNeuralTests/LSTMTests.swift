import Foundation
import Testing
import TimbreCore
@testable import TimbreNeural

@Suite struct BLASTests {
    @Test(arguments: [(false, false), (true, false), (false, true), (true, true)])
    func productMatchesLoops(transposeA: Bool, transposeB: Bool) {
        // op(a) is 3×4 and op(b) is 4×5 whatever the transposes.
        var rng = SeededGenerator(seed: 7)
        func random(_ r: Int, _ c: Int) -> Matrix {
            Matrix(rows: r, columns: c, values: (0..<(r * c)).map { _ in Float(rng.unit() - 0.5) })
        }
        let a = transposeA ? random(4, 3) : random(3, 4), b = transposeB ? random(5, 4) : random(4, 5)
        let opA = transposeA ? a.transposed : a, opB = transposeB ? b.transposed : b
        let c = BLAS.multiply(a, transposeA: transposeA, by: b, transposeB: transposeB)
        #expect(c.rows == 3 && c.columns == 5)
        for i in 0..<3 {
            for j in 0..<5 {
                let expected = (0..<4).reduce(0.0) { $0 + Double(opA[i, $1]) * Double(opB[$1, j]) }
                #expect(abs(Double(c[i, j]) - expected) < 1e-6)
            }
        }
    }
}

@Suite struct LSTMTests {
    /// A tiny layer with weights large enough that every gate is well inside its nonlinearity.
    func tinyLayer(inputSize: Int, units: Int, seed: UInt64) -> LSTMLayer {
        var rng = SeededGenerator(seed: seed)
        var layer = LSTMLayer(inputSize: inputSize, units: units, generator: &rng)
        for i in layer.bias.indices { layer.bias[i] += Float(rng.unit() - 0.5) }
        for i in layer.kernel.values.indices { layer.kernel.values[i] *= 2 }
        return layer
    }

    @Test func kerasInitialisation() {
        var rng = SeededGenerator(seed: 3)
        let layer = LSTMLayer(inputSize: 20, units: 8, generator: &rng)
        // unit_forget_bias: the forget block (second of i, f, c, o) is 1, the rest 0.
        #expect(layer.bias == [Float](repeating: 0, count: 8) + [Float](repeating: 1, count: 8) + [Float](repeating: 0, count: 16))
        // Glorot-uniform limit √(6 / (20 + 32)).
        let limit = Float((6.0 / 52).squareRoot())
        #expect(layer.kernel.values.allSatisfy { abs($0) <= limit })
        #expect(layer.kernel.values.map { abs($0) }.max()! > 0.9 * limit)
        // Orthogonal recurrent kernel: its 8 rows of 32 are orthonormal, U·Uᵀ = I.
        let gram = BLAS.multiply(layer.recurrentKernel, by: layer.recurrentKernel, transposeB: true)
        for i in 0..<8 { for j in 0..<8 { #expect(abs(gram[i, j] - (i == j ? 1 : 0)) < 1e-5) } }
    }

    @Test func forwardMatchesDoubleReference() {
        let layer = tinyLayer(inputSize: 3, units: 2, seed: 11)
        let sequences = randomSequences(count: 3, steps: 4, features: 3, seed: 12, scale: 1.5)
        let outputs = layer.forward(SequenceBatch(sequences)).outputs
        var worst = 0.0
        for (b, x) in sequences.enumerated() {
            let expected = ReferenceModel.lstm(asDouble(x), kernel: layer.kernel.values.map(Double.init),
                                               recurrent: layer.recurrentKernel.values.map(Double.init),
                                               bias: layer.bias.map(Double.init), units: 2)
            for t in 0..<4 {
                for j in 0..<2 { worst = max(worst, abs(Double(outputs[sequence: b, step: t, feature: j]) - expected[t][j])) }
            }
        }
        #expect(worst < 1e-5, "largest difference from the Double reference: \(worst)")
    }

    /// Every parameter of a 2-layer LSTM + Dense(ReLU) + Dense + softmax cross-entropy (dropout
    /// configured but off, as at inference), and every input value,
    /// against central differences of the Double reference loss (step 1e-6, so the numeric
    /// gradient is good to ~1e-9). The analytic gradients are Float: allowed error
    /// 2e-5 + 1e-3·|numeric|.
    @Test func gradientsMatchFiniteDifferences() throws {
        var model = SequenceClassifier(inputSize: 3, layerSizes: [4, 3], hiddenSizes: [4], dropoutRate: 0.3, classCount: 3, seed: 21)
        // Push the weights off their initial values so biases and gates all carry gradient.
        var rng = SeededGenerator(seed: 22)
        var layers = model.layers
        for l in layers.indices {
            for i in layers[l].bias.indices { layers[l].bias[i] += Float(rng.unit() - 0.5) }
            for i in layers[l].kernel.values.indices { layers[l].kernel.values[i] *= 1.5 }
        }
        var head = model.head
        for i in head.bias.indices { head.bias[i] = Float(rng.unit() - 0.5) }
        // A bias that keeps most ReLU units active (a dead unit has no gradient to check), with
        // one pushed off so the zero branch is exercised too.
        var relu = model.hidden[0]
        for i in relu.bias.indices { relu.bias[i] = Float(0.3 + 0.4 * rng.unit()) }
        relu.bias[3] = -5
        for i in relu.kernel.values.indices { relu.kernel.values[i] *= 1.5 }
        model = SequenceClassifier(layers: layers, hidden: [relu], dropoutRate: 0.3, head: head)

        let sequences = randomSequences(count: 2, steps: 5, features: 3, seed: 23, scale: 1.2)
        let labels = [2, 0]
        let batch = SequenceBatch(sequences)
        let (loss, gradients, inputGradient) = model.loss(batch, labels: labels, inputGradient: true)

        let reference = ReferenceModel(model)
        let inputs = sequences.map(asDouble)
        #expect(abs(loss - reference.loss(inputs, labels: labels)) < 1e-5)

        var analytic: [[Float]] = []
        for g in gradients.layers { analytic += [g.kernel, g.recurrentKernel, g.bias] }
        for g in gradients.hidden { analytic += [g.kernel, g.bias] }
        analytic += [gradients.head.kernel, gradients.head.bias]
        let result = GradientCheck(reference: reference, inputs: inputs, analytic: analytic, inputGradient: try #require(inputGradient)) {
            $0.loss($1, labels: labels)
        }
        let (checked, largest, failures) = (result.checked, result.largest, result.failures)
        #expect(checked == 128 + 96 + 16 + 15 + 30)
        #expect(largest > 0.05, "gradients too small to test anything")
        #expect(failures.isEmpty, "\(failures.count) gradients off: \(failures.prefix(5))")
    }

    /// Shards of a mini-batch, computed concurrently, add up to the whole batch's mean loss and gradient.
    @Test func shardedBatchMatchesWholeBatch() {
        let model = SequenceClassifier(inputSize: 3, layerSizes: [5], classCount: 3, seed: 5)
        let sequences = randomSequences(count: 37, steps: 6, features: 3, seed: 6)
        let labels = (0..<37).map { $0 % 3 }
        let (loss, _, sharded) = model.batchGradients(sequences, labels: labels)
        let whole = model.loss(SequenceBatch(sequences), labels: labels)
        #expect(abs(loss - whole.loss) < 1e-5)
        let pairs = zip(sharded.layers[0].kernel + sharded.layers[0].recurrentKernel + sharded.layers[0].bias + sharded.head.kernel,
                        whole.gradients.layers[0].kernel + whole.gradients.layers[0].recurrentKernel
                            + whole.gradients.layers[0].bias + whole.gradients.head.kernel)
        for (s, w) in pairs { #expect(abs(s - w) < 1e-5) }
    }
}

@Suite struct ActivationTests {
    /// The libm-free activations against Double libm over and beyond the range that matters:
    /// exp to 4e-7 relative where the result is a normal float, sigmoid and tanh to 2e-7 absolute.
    @Test func matchLibm() {
        var worstExp = 0.0, worstSigmoid = 0.0, worstTanh = 0.0
        for step in -20_000...20_000 {
            let x = Float(step) * 0.005 // −100 … 100
            let d = Double(x)
            if abs(x) < 87 { worstExp = max(worstExp, abs(Double(exponential(x)) / Foundation.exp(d) - 1)) }
            worstSigmoid = max(worstSigmoid, abs(Double(sigmoid(x)) - 1 / (1 + Foundation.exp(-d))))
            worstTanh = max(worstTanh, abs(Double(hyperbolicTangent(x)) - Foundation.tanh(d)))
        }
        #expect(worstExp < 4e-7 && worstSigmoid < 2e-7 && worstTanh < 2e-7,
                "exp \(worstExp), sigmoid \(worstSigmoid), tanh \(worstTanh)")
        #expect(exponential(1000) == exponential(88.3) && exponential(-1000) > 0)
        #expect(hyperbolicTangent(50) == 1 && hyperbolicTangent(-50) == -1 && sigmoid(-200) >= 0)
    }
}
