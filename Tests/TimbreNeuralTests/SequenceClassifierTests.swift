import Foundation
import Testing
import TimbreCore
import TimbreNeural

/// Three classes that differ only in temporal order: a rising ramp, a falling ramp and a peak,
/// each scaled by a random amplitude and buried in noise, beside a pure-noise feature. Ramps up
/// and down take exactly the same values, and all three have mean zero, so neither the mean nor
/// the distribution of values separates them: only the order does.
func patternSequences(count: Int, seed: UInt64, steps: Int = 16) -> (sequences: [Matrix], labels: [Int]) {
    var rng = SeededGenerator(seed: seed)
    var sequences: [Matrix] = [], labels: [Int] = []
    for n in 0..<count {
        let label = n % 3, amplitude = 0.6 + 0.8 * rng.unit()
        var values: [Float] = []
        for t in 0..<steps {
            let s = 2 * Double(t) / Double(steps - 1) - 1 // −1 … 1
            let shape = label == 0 ? s : label == 1 ? -s : 1 - 2 * abs(s)
            values.append(Float(amplitude * shape + 0.4 * rng.gaussianForTest()))
            values.append(Float(rng.gaussianForTest()))
        }
        sequences.append(Matrix(rows: steps, columns: 2, values: values))
        labels.append(label)
    }
    return (sequences, labels)
}

extension SeededGenerator {
    mutating func gaussianForTest() -> Double {
        let u1 = max(unit(), 1e-300), u2 = unit()
        return (-2 * log(u1)).squareRoot() * cos(2 * .pi * u2)
    }
}

func accuracy(_ model: SequenceClassifier, _ sequences: [Matrix], _ labels: [Int]) -> Double {
    let p = model.probabilities(for: sequences)
    let hits = labels.indices.filter { n in
        let row = Array(p.row(n))
        return row.firstIndex(of: row.max()!) == labels[n]
    }.count
    return Double(hits) / Double(labels.count)
}

@Suite struct SequenceClassifierTests {
    static let train = patternSequences(count: 240, seed: 100)
    static let test = patternSequences(count: 150, seed: 200)

    static func trained(seed: UInt64 = 1) -> SequenceClassifier {
        var model = SequenceClassifier(inputSize: 2, layerSizes: [12], classCount: 3, seed: seed)
        model.fit(sequences: train.sequences, labels: train.labels, epochs: 25, batchSize: 32, seed: seed,
                  optimizer: Adam(learningRate: 0.01))
        return model
    }

    @Test func learnsTemporalPatterns() {
        var model = SequenceClassifier(inputSize: 2, layerSizes: [12], classCount: 3, seed: 1)
        let before = accuracy(model, Self.test.sequences, Self.test.labels)
        let losses = model.fit(sequences: Self.train.sequences, labels: Self.train.labels, epochs: 25, batchSize: 32,
                               seed: 1, optimizer: Adam(learningRate: 0.01))
        let after = accuracy(model, Self.test.sequences, Self.test.labels)
        #expect(before < 0.6)
        #expect(losses.last! < losses.first! / 4, "losses \(losses)")
        #expect(after >= 0.95, "held-out accuracy \(after), losses \(losses)")
    }

    @Test func stackedLayersLearnToo() {
        var model = SequenceClassifier(inputSize: 2, layerSizes: [12, 6], classCount: 3, seed: 2)
        model.fit(sequences: Self.train.sequences, labels: Self.train.labels, epochs: 25, batchSize: 32, seed: 2,
                  optimizer: Adam(learningRate: 0.01))
        #expect(accuracy(model, Self.test.sequences, Self.test.labels) >= 0.95)
    }

    @Test func sameSeedSameModel() {
        let a = Self.trained(seed: 4), b = Self.trained(seed: 4), c = Self.trained(seed: 5)
        #expect(a == b)
        #expect(a.probabilities(for: Self.test.sequences) == b.probabilities(for: Self.test.sequences))
        #expect(a != c)
    }

    @Test func embeddingsAreTheLastLayersFinalHidden() {
        let model = SequenceClassifier(inputSize: 2, layerSizes: [5, 4], classCount: 3, seed: 9)
        // Mixed lengths: batched by length inside, returned in input order.
        let sequences = Array(Self.test.sequences.prefix(70)) + patternSequences(count: 5, seed: 3, steps: 9).sequences
        let embeddings = model.embeddings(of: sequences)
        #expect(embeddings.rows == 75 && embeddings.columns == 4)
        for n in [0, 63, 64, 69, 70, 74] {
            let hidden = model.layers[1].forward(model.layers[0].forward(SequenceBatch([sequences[n]])).outputs).finalHidden
            #expect(Array(embeddings.row(n)) == hidden.values)
            #expect(model.embedding(of: sequences[n]) == hidden.values)
        }
        let p = model.probabilities(for: sequences)
        for n in 0..<p.rows { #expect(abs(p.row(n).reduce(0, +) - 1) < 1e-5) }
    }

    @Test func encodingRoundTrips() throws {
        let model = Self.trained(seed: 6)
        let bytes = model.encode()
        let decoded = try SequenceClassifier(decoding: bytes)
        #expect(decoded == model)
        #expect(decoded.probabilities(for: Self.test.sequences) == model.probabilities(for: Self.test.sequences))
        #expect(decoded.embeddings(of: Self.test.sequences) == model.embeddings(of: Self.test.sequences))
    }

    @Test func badBytesThrow() {
        let bytes = SequenceClassifier(inputSize: 2, layerSizes: [3, 2], classCount: 3, seed: 1).encode()
        #expect(throws: ModelDecodingError.self) { try SequenceClassifier(decoding: []) }
        // Every truncation.
        for length in 0..<bytes.count {
            #expect(throws: ModelDecodingError.self) { try SequenceClassifier(decoding: Array(bytes[..<length])) }
        }
        #expect(throws: ModelDecodingError.self) { try SequenceClassifier(decoding: bytes + [0]) }
        // A different format name, and a layer size that no longer matches the weights.
        var renamed = bytes
        renamed[8] ^= 0x20
        #expect(throws: ModelDecodingError.self) { try SequenceClassifier(decoding: renamed) }
        let sizesOffset = 8 + "timbre.SequenceClassifier".utf8.count + 4 + 8 + 8
        var resized = bytes
        #expect(resized[sizesOffset] == 3)
        resized[sizesOffset] = 4
        #expect(throws: ModelDecodingError.self) { try SequenceClassifier(decoding: resized) }
        var nonFinite = bytes
        nonFinite.replaceSubrange((bytes.count - 4)..., with: [0, 0, 0xC0, 0x7F]) // NaN in the head's bias
        #expect(throws: ModelDecodingError.self) { try SequenceClassifier(decoding: nonFinite) }
    }
}

@Suite struct ContentModelTests {
    /// The reference architecture: LSTM(20→64) → LSTM(64→64) → Dense(64, ReLU) → Dropout(0.3) → Dense(5).
    /// Keras counts 59 269 values; the PyTorch reference's 59 781 includes nn.LSTM's second bias
    /// vector (b_hh, 4·64 per layer), which adds nothing a single bias cannot express.
    @Test func parameterCount() {
        let model = SequenceClassifier.contentModel(classCount: 5, seed: 0)
        #expect(model.layerSizes == [64, 64] && model.hiddenSizes == [64] && model.dropoutRate == 0.3)
        #expect(model.parameterCount == 59_269)
        #expect(model.parameterCount + model.layers.reduce(0) { $0 + 4 * $1.units } == 59_781)
        // Keras Dense init: zero bias, Glorot limit √(6 / (64 + 64)).
        #expect(model.hidden[0].bias.allSatisfy { $0 == 0 })
        #expect(model.hidden[0].kernel.values.allSatisfy { abs($0) <= Float((6.0 / 128).squareRoot()) })
    }

    @Test func dropoutOnlyInTrainingAndSeeded() {
        let model = SequenceClassifier(inputSize: 2, layerSizes: [6], hiddenSizes: [8], dropoutRate: 0.5, classCount: 3, seed: 3)
        let data = patternSequences(count: 20, seed: 7)
        let batch = SequenceBatch(data.sequences)
        let plain = model.loss(batch, labels: data.labels).loss
        let a = model.loss(batch, labels: data.labels, dropoutSeed: 1), b = model.loss(batch, labels: data.labels, dropoutSeed: 1)
        let c = model.loss(batch, labels: data.labels, dropoutSeed: 2)
        #expect(a.loss == b.loss && a.gradients == b.gradients)
        #expect(a.loss != plain && a.loss != c.loss)
        // Inference ignores dropout: the model's probabilities equal the plain forward pass's loss.
        let p = model.probabilities(for: data.sequences)
        let expected = -data.labels.enumerated().reduce(0.0) { $0 + log(Double(p[$1.offset, $1.element])) } / 20
        #expect(abs(expected - plain) < 1e-5)
    }

    @Test func keepsTheBestValidationEpoch() throws {
        var model = SequenceClassifier(inputSize: 2, layerSizes: [6], hiddenSizes: [6], dropoutRate: 0.3, classCount: 3, seed: 4)
        let train = patternSequences(count: 60, seed: 11), validation = patternSequences(count: 45, seed: 12)
        var seen: [Int] = []
        let history = model.fit(sequences: train.sequences, labels: train.labels,
                                validation: (validation.sequences, validation.labels), epochs: 8, batchSize: 16, seed: 4,
                                optimizer: Adam(learningRate: 0.02), onEpoch: { epoch, _ in seen.append(epoch) })
        #expect(seen == Array(0..<8))
        let kept = try #require(history.keptEpoch)
        let accuracies = history.epochs.map { $0.validationAccuracy! }
        #expect(accuracies[kept] == accuracies.max()! && accuracies.firstIndex(of: accuracies.max()!) == kept)
        #expect(model.accuracy(validation.sequences, labels: validation.labels) == accuracies[kept])
        #expect(history.epochs.allSatisfy { $0.loss.isFinite && (0...1).contains($0.trainingAccuracy) && $0.seconds > 0 })
    }

    @Test func encodingKeepsReLULayersAndDropout() throws {
        let model = SequenceClassifier(inputSize: 2, layerSizes: [5], hiddenSizes: [4, 3], dropoutRate: 0.25, classCount: 3, seed: 8)
        let decoded = try SequenceClassifier(decoding: model.encode())
        #expect(decoded == model)
        let data = patternSequences(count: 10, seed: 1)
        #expect(decoded.probabilities(for: data.sequences) == model.probabilities(for: data.sequences))
    }
}
