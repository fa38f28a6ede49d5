import Foundation
import TimbreCore

/// Stacked LSTM layers → the last layer's final hidden state → Dense → softmax: the content
/// model of the original study (Keras `Sequential([LSTM(a, return_sequences=True), …, LSTM(z),
/// Dense(classes, activation="softmax")])` trained with sparse categorical cross-entropy).
/// The final hidden state of the last LSTM layer is the track embedding.
public struct SequenceClassifier: Sendable, Equatable {
    public private(set) var layers: [LSTMLayer]
    public private(set) var head: DenseLayer

    public var inputSize: Int { layers[0].inputSize }
    public var layerSizes: [Int] { layers.map(\.units) }
    public var classCount: Int { head.outputSize }
    public var embeddingSize: Int { layers[layers.count - 1].units }

    /// Each mini-batch is split into shards of this many sequences whose gradients are computed
    /// in parallel and summed in shard order. The split depends only on the batch, never on the
    /// core count, so a seed gives the same model on any machine.
    public static let shardSize = 16
    /// Inference runs in batches of this many equal-length sequences, for the same reason.
    public static let inferenceBatchSize = 64

    public init(inputSize: Int, layerSizes: [Int], classCount: Int, seed: UInt64) {
        precondition(!layerSizes.isEmpty, "a sequence classifier needs ≥ 1 LSTM layer")
        precondition(classCount >= 2, "a classifier needs ≥ 2 classes, got \(classCount)")
        var rng = SeededGenerator(seed: seed)
        var layers: [LSTMLayer] = []
        var width = inputSize
        for units in layerSizes {
            layers.append(LSTMLayer(inputSize: width, units: units, generator: &rng))
            width = units
        }
        self.init(layers: layers, head: DenseLayer(inputSize: width, outputSize: classCount, generator: &rng))
    }

    public init(layers: [LSTMLayer], head: DenseLayer) {
        precondition(!layers.isEmpty, "a sequence classifier needs ≥ 1 LSTM layer")
        for l in 1..<layers.count {
            precondition(layers[l].inputSize == layers[l - 1].units,
                         "LSTM layer \(l) takes \(layers[l].inputSize) inputs, layer \(l - 1) gives \(layers[l - 1].units)")
        }
        precondition(head.inputSize == layers[layers.count - 1].units,
                     "the head takes \(head.inputSize) inputs, the last LSTM layer gives \(layers[layers.count - 1].units)")
        precondition(head.outputSize >= 2, "a classifier needs ≥ 2 classes, got \(head.outputSize)")
        self.layers = layers
        self.head = head
    }

    // MARK: Training

    public struct Gradients: Sendable, Equatable {
        public var layers: [LSTMLayer.Gradients]
        public var head: DenseLayer.Gradients

        mutating func add(_ other: Gradients) {
            for l in layers.indices { layers[l].add(other.layers[l]) }
            head.add(other.head)
        }
    }

    /// Cross-entropy of `labels` summed over the batch and divided by `divisor` (default: the
    /// batch's own size, i.e. the mean), with its gradients; ∂loss/∂input (time-major, like the
    /// batch) when asked.
    public func loss(_ batch: SequenceBatch, labels: [Int], divisor: Int? = nil, inputGradient wantsInputGradient: Bool = false)
        -> (loss: Double, gradients: Gradients, inputGradient: [Float]?)
    {
        precondition(labels.count == batch.batch, "\(labels.count) labels for \(batch.batch) sequences")
        var traces: [LSTMLayer.Trace] = []
        var input = batch
        for layer in layers {
            let trace = layer.forward(input)
            input = trace.outputs
            traces.append(trace)
        }
        let summary = traces[traces.count - 1].finalHidden
        let (loss, logitGradient) = SoftmaxCrossEntropy.loss(logits: head.outputs(summary), labels: labels,
                                                             divisor: divisor ?? batch.batch)
        let (headGradients, summaryGradient) = head.backward(input: summary, outputGradient: logitGradient)
        // Only the last step's hidden state reaches the head.
        let lastUnits = embeddingSize, stepValues = batch.batch * lastUnits
        var outputGradient = [Float](repeating: 0, count: batch.steps * stepValues)
        outputGradient.replaceSubrange((outputGradient.count - stepValues)..., with: summaryGradient.values)
        var layerGradients: [LSTMLayer.Gradients] = []
        var inputGradient: [Float]? = nil
        for l in layers.indices.reversed() {
            let (g, dx) = layers[l].backward(traces[l], outputGradient: outputGradient,
                                             inputGradient: l > 0 || wantsInputGradient)
            layerGradients.append(g)
            if l > 0 { outputGradient = dx! } else { inputGradient = dx }
        }
        return (loss, Gradients(layers: layerGradients.reversed(), head: headGradients), inputGradient)
    }

    /// Mini-batch training with Adam, reshuffling every epoch (Keras `fit(shuffle=True)`).
    /// Sequences are steps × inputSize matrices, all with the same number of steps. Adam's moments
    /// start afresh on each call. Returns the mean training loss of each epoch.
    @discardableResult
    public mutating func fit(sequences: [Matrix], labels: [Int], epochs: Int, batchSize: Int = 32, seed: UInt64,
                             optimizer: Adam = Adam()) -> [Double] {
        precondition(sequences.count == labels.count, "\(sequences.count) sequences but \(labels.count) labels")
        precondition(!sequences.isEmpty, "nothing to fit")
        precondition(epochs >= 0 && batchSize >= 1, "epochs must be ≥ 0 and batch size ≥ 1")
        let steps = sequences[0].rows
        for (n, s) in sequences.enumerated() {
            precondition(s.rows == steps && s.columns == inputSize,
                         "sequence \(n) is \(s.rows)×\(s.columns); training needs \(steps)×\(inputSize) throughout")
        }
        for label in labels { precondition((0..<classCount).contains(label), "label \(label) outside 0..<\(classCount)") }

        var moments: [Adam.Moments] = []
        for layer in layers {
            moments += [layer.kernel.values.count, layer.recurrentKernel.values.count, layer.bias.count].map(Adam.Moments.init)
        }
        moments += [head.kernel.values.count, head.bias.count].map(Adam.Moments.init)

        var rng = SeededGenerator(seed: seed)
        var order = Array(sequences.indices)
        var step = 0
        var epochLosses: [Double] = []
        for _ in 0..<epochs {
            rng.shuffle(&order)
            var lossSum = 0.0
            for start in stride(from: 0, to: order.count, by: batchSize) {
                let members = Array(order[start..<min(start + batchSize, order.count)])
                let (loss, gradients) = batchGradients(members.map { sequences[$0] }, labels: members.map { labels[$0] })
                lossSum += loss * Double(members.count)
                step += 1
                apply(gradients, optimizer: optimizer, moments: &moments, step: step)
            }
            epochLosses.append(lossSum / Double(order.count))
        }
        return epochLosses
    }

    /// Mean loss and gradients of one mini-batch, its shards computed concurrently.
    func batchGradients(_ sequences: [Matrix], labels: [Int]) -> (Double, Gradients) {
        let shards = stride(from: 0, to: sequences.count, by: Self.shardSize).map { $0..<min($0 + Self.shardSize, sequences.count) }
        let model = self, divisor = sequences.count
        let results = concurrentChunks(shards.count, chunksPerCore: 1) { range in
            range.map { s in
                let (loss, gradients, _) = model.loss(SequenceBatch(sequences[shards[s]]), labels: Array(labels[shards[s]]),
                                                      divisor: divisor)
                return (loss, gradients)
            }
        }.flatMap { $0 }
        var (loss, gradients) = results[0]
        for (l, g) in results.dropFirst() { loss += l; gradients.add(g) }
        return (loss, gradients)
    }

    private mutating func apply(_ gradients: Gradients, optimizer: Adam, moments: inout [Adam.Moments], step: Int) {
        var slot = 0
        for l in layers.indices {
            optimizer.update(&layers[l].kernel.values, gradient: gradients.layers[l].kernel, moments: &moments[slot], step: step)
            optimizer.update(&layers[l].recurrentKernel.values, gradient: gradients.layers[l].recurrentKernel,
                             moments: &moments[slot + 1], step: step)
            optimizer.update(&layers[l].bias, gradient: gradients.layers[l].bias, moments: &moments[slot + 2], step: step)
            slot += 3
        }
        optimizer.update(&head.kernel.values, gradient: gradients.head.kernel, moments: &moments[slot], step: step)
        optimizer.update(&head.bias, gradient: gradients.head.bias, moments: &moments[slot + 1], step: step)
    }

    // MARK: Inference

    /// The last LSTM layer's final hidden state for each sequence: sequences × embeddingSize.
    /// Sequences may differ in length; each is steps × inputSize.
    public func embeddings(of sequences: [Matrix]) -> Matrix {
        for (n, s) in sequences.enumerated() {
            precondition(s.rows >= 1 && s.columns == inputSize, "sequence \(n) is \(s.rows)×\(s.columns); need ≥1×\(inputSize)")
        }
        // Equal-length sequences batch together, in input order within a length.
        let byLength = Dictionary(grouping: sequences.indices, by: { sequences[$0].rows })
        let batches = byLength.keys.sorted().flatMap { length in
            let members = byLength[length]!
            return stride(from: 0, to: members.count, by: Self.inferenceBatchSize).map {
                Array(members[$0..<min($0 + Self.inferenceBatchSize, members.count)])
            }
        }
        let model = self
        let summaries = concurrentChunks(batches.count, chunksPerCore: 2) { range in
            range.map { b in model.finalHidden(SequenceBatch(batches[b].map { sequences[$0] })) }
        }.flatMap { $0 }
        var out = Matrix(rows: sequences.count, columns: embeddingSize)
        for (members, summary) in zip(batches, summaries) {
            for (r, n) in members.enumerated() {
                out.values.replaceSubrange((n * embeddingSize)..<((n + 1) * embeddingSize), with: summary.row(r))
            }
        }
        return out
    }

    public func embedding(of sequence: Matrix) -> [Float] { embeddings(of: [sequence]).values }

    /// Class probabilities: sequences × classCount, rows summing to 1.
    public func probabilities(for sequences: [Matrix]) -> Matrix {
        SoftmaxCrossEntropy.probabilities(head.outputs(embeddings(of: sequences)))
    }

    private func finalHidden(_ batch: SequenceBatch) -> Matrix {
        var input = batch
        for layer in layers.dropLast() { input = layer.forward(input).outputs }
        return layers[layers.count - 1].forward(input).finalHidden
    }

    // MARK: Coding

    private static let format = "timbre.SequenceClassifier"
    private static let formatVersion: UInt32 = 1
    /// Bounds on decoded sizes, so that corrupt bytes fail cleanly instead of allocating wildly.
    private static let maxWidth = 1 << 16

    public func encode() -> [UInt8] {
        var w = ModelWriter()
        w.write(Self.format)
        w.write(Self.formatVersion)
        w.write(Int64(inputSize))
        w.write(layerSizes.map(Int64.init))
        w.write(Int64(classCount))
        for layer in layers {
            w.write(layer.kernel.values)
            w.write(layer.recurrentKernel.values)
            w.write(layer.bias)
        }
        w.write(head.kernel.values)
        w.write(head.bias)
        return w.bytes
    }

    public init(decoding bytes: [UInt8]) throws {
        var r = ModelReader(bytes)
        func fail(_ message: String) -> ModelDecodingError { ModelDecodingError(description: "sequence classifier: \(message)") }
        func size(_ value: Int64, _ what: String) throws -> Int {
            guard value >= 1, value <= Self.maxWidth else { throw fail("\(what) \(value) out of range") }
            return Int(value)
        }
        func values(_ count: Int, _ what: String) throws -> [Float] {
            let v = try r.read([Float].self)
            guard v.count == count else { throw fail("\(what) has \(v.count) values, expected \(count)") }
            guard v.allSatisfy(\.isFinite) else { throw fail("\(what) holds non-finite values") }
            return v
        }
        guard try r.read(String.self) == Self.format else { throw fail("not a sequence classifier") }
        let version = try r.read(UInt32.self)
        guard version == Self.formatVersion else { throw fail("format version \(version), expected \(Self.formatVersion)") }
        let inputSize = try size(try r.read(Int64.self), "input size")
        let sizes = try r.read([Int64].self)
        guard !sizes.isEmpty else { throw fail("no LSTM layers") }
        let layerSizes = try sizes.map { try size($0, "layer size") }
        let classCount = try size(try r.read(Int64.self), "class count")
        guard classCount >= 2 else { throw fail("class count \(classCount) < 2") }
        var layers: [LSTMLayer] = []
        var width = inputSize
        for (l, units) in layerSizes.enumerated() {
            let kernel = try values(width * 4 * units, "layer \(l) kernel")
            let recurrent = try values(units * 4 * units, "layer \(l) recurrent kernel")
            let bias = try values(4 * units, "layer \(l) bias")
            layers.append(LSTMLayer(kernel: Matrix(rows: width, columns: 4 * units, values: kernel),
                                    recurrentKernel: Matrix(rows: units, columns: 4 * units, values: recurrent), bias: bias))
            width = units
        }
        let headKernel = try values(width * classCount, "head kernel")
        let headBias = try values(classCount, "head bias")
        try r.expectEnd()
        self.init(layers: layers, head: DenseLayer(kernel: Matrix(rows: width, columns: classCount, values: headKernel), bias: headBias))
    }
}
