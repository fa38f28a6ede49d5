import Foundation
import Testing
import TimbreCore
@testable import TimbreNeural

/// The regression head (van den Oord et al. 2013's objective: squared error on CF factors).
@Suite struct SequenceRegressorTests {
    /// Two rows, two outputs, worked by hand: errors (1, −2) with weight 1 and (0.5, 0) with weight
    /// 3; loss = (1·(1 + 4) + 3·(0.25 + 0)) / (2 outputs · divisor 4) = 5.75 / 8; gradient
    /// 2·w·e / (2·4): (0.25, −0.5) and (0.375, 0).
    @Test func weightedSquaredErrorByHand() {
        let outputs = Matrix(rows: 2, columns: 2, values: [2, -1, 1.5, 3])
        let targets = Matrix(rows: 2, columns: 2, values: [1, 1, 1, 3])
        let (loss, gradient) = WeightedSquaredError.loss(outputs: outputs, targets: targets, weights: [1, 3], divisor: 4)
        #expect(abs(loss - 5.75 / 8) < 1e-12)
        #expect(gradient.values == [0.25, -0.5, 0.375, 0])
    }

    @Test func gradientsMatchFiniteDifferences() throws {
        var rng = SeededGenerator(seed: 32)
        let initial = SequenceRegressor(inputSize: 3, layerSizes: [4, 3], hiddenSizes: [4], dropoutRate: 0.3, outputCount: 3, seed: 31)
        var layers = initial.network.layers
        for l in layers.indices {
            for i in layers[l].bias.indices { layers[l].bias[i] += Float(rng.unit() - 0.5) }
            for i in layers[l].kernel.values.indices { layers[l].kernel.values[i] *= 1.5 }
        }
        var head = initial.network.head
        for i in head.bias.indices { head.bias[i] = Float(rng.unit() - 0.5) }
        for i in head.kernel.values.indices { head.kernel.values[i] *= 2 }
        var relu = initial.network.hidden[0]
        for i in relu.bias.indices { relu.bias[i] = Float(0.3 + 0.4 * rng.unit()) }
        relu.bias[2] = -5 // one dead unit: the zero branch carries no gradient
        for i in relu.kernel.values.indices { relu.kernel.values[i] *= 1.5 }
        let model = SequenceRegressor(network: SequenceClassifier(layers: layers, hidden: [relu], dropoutRate: 0.3, head: head))

        let sequences = randomSequences(count: 2, steps: 5, features: 3, seed: 33, scale: 1.2)
        let targets = Matrix(rows: 2, columns: 3, values: [0.8, -1.1, 0.3, -0.4, 0.9, 1.5])
        let weights: [Float] = [1, 2.5]
        let (loss, gradients, inputGradient) = model.loss(SequenceBatch(sequences), targets: targets, weights: weights,
                                                          inputGradient: true)

        let reference = ReferenceModel(model.network)
        let inputs = sequences.map(asDouble)
        let t = [[0.8, -1.1, 0.3], [-0.4, 0.9, 1.5]], w = weights.map(Double.init)
        #expect(abs(loss - reference.squaredError(inputs, targets: t, weights: w)) < 1e-5)

        var analytic: [[Float]] = []
        for g in gradients.layers { analytic += [g.kernel, g.recurrentKernel, g.bias] }
        for g in gradients.hidden { analytic += [g.kernel, g.bias] }
        analytic += [gradients.head.kernel, gradients.head.bias]
        let result = GradientCheck(reference: reference, inputs: inputs, analytic: analytic, inputGradient: try #require(inputGradient)) {
            $0.squaredError($1, targets: t, weights: w)
        }
        let (checked, largest, failures) = (result.checked, result.largest, result.failures)
        // LSTM 3→4 (48 + 64 + 16), LSTM 4→3 (48 + 36 + 12), ReLU 3→4 (12 + 4), head 4→3 (12 + 3), inputs 30.
        #expect(checked == 128 + 96 + 16 + 15 + 30)
        #expect(largest > 0.05, "gradients too small to test anything")
        #expect(failures.isEmpty, "\(failures.count) gradients off: \(failures.prefix(5))")
    }

    /// Targets that only the temporal order of a sequence decides (the classifier tests' ramps
    /// and peak, each mapped to a point in 2-D, scaled by the sequence's amplitude).
    static func regressionSet(count: Int, seed: UInt64) -> (sequences: [Matrix], targets: Matrix) {
        let (sequences, labels) = patternSequences(count: count, seed: seed)
        let points: [[Float]] = [[1, -1], [-1, 1], [0.6, 0.6]]
        return (sequences, Matrix(rows: count, columns: 2, values: labels.flatMap { points[$0] }))
    }

    @Test func trainingOnFactorsReducesHeldOutError() {
        let train = Self.regressionSet(count: 240, seed: 300), test = Self.regressionSet(count: 120, seed: 400)
        var model = SequenceRegressor(inputSize: 2, layerSizes: [12], outputCount: 2, seed: 3)
        let before = model.meanSquaredError(test.sequences, targets: test.targets)
        // What predicting the training targets' mean for everything scores: the bar to beat.
        let mean = (0..<2).map { j in (0..<train.targets.rows).reduce(Float(0)) { $0 + train.targets[$1, j] } / Float(train.targets.rows) }
        let constant = (0..<test.targets.rows).reduce(0.0) { total, r in
            total + (0..<2).reduce(0.0) { $0 + Double(test.targets[r, $1] - mean[$1]) * Double(test.targets[r, $1] - mean[$1]) }
        } / Double(test.targets.values.count)
        let history = model.fit(sequences: train.sequences, targets: train.targets, epochs: 25, batchSize: 32, seed: 3,
                                optimizer: Adam(learningRate: 0.01))
        let after = model.meanSquaredError(test.sequences, targets: test.targets)
        #expect(history.epochs.last!.loss < history.epochs.first!.loss / 3, "losses \(history.epochs.map(\.loss))")
        #expect(after < before / 4, "held-out MSE \(before) → \(after)")
        #expect(after < constant / 4, "held-out MSE \(after) against \(constant) for the mean")
    }

    /// A sequence of weight 3 counts as three copies of it: the weighted loss and gradients equal
    /// those of the batch with the sequence repeated, and sharding the batch changes nothing.
    @Test func weightsCountAsCopies() {
        let model = SequenceRegressor(inputSize: 3, layerSizes: [5], outputCount: 2, seed: 9)
        let sequences = randomSequences(count: 20, steps: 4, features: 3, seed: 10)
        let targets = Matrix(rows: 20, columns: 2, values: (0..<40).map { Float($0 % 7) / 7 - 0.5 })
        var weights = [Float](repeating: 1, count: 20)
        weights[4] = 3
        let weighted = model.loss(SequenceBatch(sequences), targets: targets, weights: weights)
        let copies = sequences + [sequences[4], sequences[4]]
        let copyTargets = Matrix(rows: 22, columns: 2, values: targets.values + Array(targets.row(4)) + Array(targets.row(4)))
        let repeated = model.loss(SequenceBatch(copies), targets: copyTargets)
        #expect(abs(weighted.loss - repeated.loss) < 1e-6)
        for (a, b) in zip(weighted.gradients.layers[0].kernel + weighted.gradients.head.kernel,
                          repeated.gradients.layers[0].kernel + repeated.gradients.head.kernel) {
            #expect(abs(a - b) < 1e-6)
        }
    }

    @Test func encodingRoundTrips() throws {
        let model = SequenceRegressor(inputSize: 3, layerSizes: [4], hiddenSizes: [3], dropoutRate: 0.2, outputCount: 5, seed: 12)
        let decoded = try SequenceRegressor(decoding: model.encode())
        #expect(decoded == model)
        let sequences = randomSequences(count: 4, steps: 6, features: 3, seed: 13)
        #expect(decoded.predictions(for: sequences) == model.predictions(for: sequences))
        #expect(throws: ModelDecodingError.self) { try SequenceRegressor(decoding: model.network.encode()) }
    }
}
