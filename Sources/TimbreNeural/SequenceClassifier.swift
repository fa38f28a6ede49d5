import Foundation
import TimbreCore

/// Stacked LSTM layers → the last layer's final hidden state → optional ReLU Dense layers, each
/// followed by dropout in training → Dense → softmax: the content model of the original study
/// (Keras `Sequential([LSTM(a, return_sequences=True), …, LSTM(z), Dense(d, activation="relu"),
/// Dropout(p), Dense(classes, activation="softmax")])` trained with sparse categorical
/// cross-entropy). The final hidden state of the last LSTM layer, before the ReLU layers, is the
/// track embedding: it is what every head variant shares, and the layer the original study used.
public struct SequenceClassifier: Sendable, Equatable {
    public private(set) var layers: [LSTMLayer]
    /// Dense layers with ReLU between the LSTM summary and the head (empty in the plain model).
    public private(set) var hidden: [DenseLayer]
    /// Fraction of each ReLU layer's outputs zeroed in training (inverted dropout: the kept ones
    /// are scaled by 1/(1−rate), so inference uses the weights as they are).
    public let dropoutRate: Float
    public private(set) var head: DenseLayer

    public var inputSize: Int { layers[0].inputSize }
    public var layerSizes: [Int] { layers.map(\.units) }
    public var classCount: Int { head.outputSize }
    public var embeddingSize: Int { layers[layers.count - 1].units }
    public var hiddenSizes: [Int] { hidden.map(\.outputSize) }

    /// Trainable values, counted as Keras counts them (one bias vector per LSTM layer; PyTorch's
    /// `nn.LSTM` has two, b_ih and b_hh, and so counts 4·units more per layer for the same model).
    public var parameterCount: Int {
        layers.reduce(0) { $0 + $1.kernel.values.count + $1.recurrentKernel.values.count + $1.bias.count }
            + (hidden + [head]).reduce(0) { $0 + $1.kernel.values.count + $1.bias.count }
    }

    /// Each mini-batch is split into shards of this many sequences whose gradients are computed
    /// in parallel and summed in shard order. The split depends only on the batch, never on the
    /// core count, so a seed gives the same model whatever the core count (across CPUs, OpenBLAS kernels and libm may round differently).
    public static let shardSize = 16
    /// Inference runs in batches of this many equal-length sequences, for the same reason.
    public static let inferenceBatchSize = 64

    /// Weights are drawn in layer order (LSTMs, ReLU layers, head) from one seeded stream.
    public init(inputSize: Int, layerSizes: [Int], hiddenSizes: [Int] = [], dropoutRate: Float = 0, classCount: Int,
                seed: UInt64) {
        precondition(!layerSizes.isEmpty, "a sequence classifier needs ≥ 1 LSTM layer")
        precondition(classCount >= 2, "a classifier needs ≥ 2 classes, got \(classCount)")
        var rng = SeededGenerator(seed: seed)
        var layers: [LSTMLayer] = []
        var width = inputSize
        for units in layerSizes {
            layers.append(LSTMLayer(inputSize: width, units: units, generator: &rng))
            width = units
        }
        var hidden: [DenseLayer] = []
        for units in hiddenSizes {
            hidden.append(DenseLayer(inputSize: width, outputSize: units, generator: &rng))
            width = units
        }
        self.init(layers: layers, hidden: hidden, dropoutRate: dropoutRate,
                  head: DenseLayer(inputSize: width, outputSize: classCount, generator: &rng))
    }

    /// The reference content model: LSTM(64) → LSTM(64) → Dense(64, ReLU) → Dropout(0.3) → Dense(classes).
    public static func contentModel(inputSize: Int = 20, classCount: Int, seed: UInt64) -> SequenceClassifier {
        SequenceClassifier(inputSize: inputSize, layerSizes: [64, 64], hiddenSizes: [64], dropoutRate: 0.3,
                           classCount: classCount, seed: seed)
    }

    public init(layers: [LSTMLayer], head: DenseLayer) {
        self.init(layers: layers, hidden: [], dropoutRate: 0, head: head)
    }

    public init(layers: [LSTMLayer], hidden: [DenseLayer], dropoutRate: Float, head: DenseLayer) {
        precondition(!layers.isEmpty, "a sequence classifier needs ≥ 1 LSTM layer")
        for l in 1..<layers.count {
            precondition(layers[l].inputSize == layers[l - 1].units,
                         "LSTM layer \(l) takes \(layers[l].inputSize) inputs, layer \(l - 1) gives \(layers[l - 1].units)")
        }
        var width = layers[layers.count - 1].units
        for (l, dense) in hidden.enumerated() {
            precondition(dense.inputSize == width, "ReLU layer \(l) takes \(dense.inputSize) inputs, the layer below gives \(width)")
            width = dense.outputSize
        }
        precondition(head.inputSize == width, "the head takes \(head.inputSize) inputs, the layer below gives \(width)")
        precondition(head.outputSize >= 2, "a classifier needs ≥ 2 classes, got \(head.outputSize)")
        precondition(dropoutRate >= 0 && dropoutRate < 1, "dropout rate \(dropoutRate) outside [0, 1)")
        self.layers = layers
        self.hidden = hidden
        self.dropoutRate = dropoutRate
        self.head = head
    }

    // MARK: Training

    public struct Gradients: Sendable, Equatable {
        public var layers: [LSTMLayer.Gradients]
        public var hidden: [DenseLayer.Gradients]
        public var head: DenseLayer.Gradients

        mutating func add(_ other: Gradients) {
            for l in layers.indices { layers[l].add(other.layers[l]) }
            for l in hidden.indices { hidden[l].add(other.hidden[l]) }
            head.add(other.head)
        }
    }

    /// Cross-entropy of `labels` summed over the batch and divided by `divisor` (default: the
    /// batch's own size, i.e. the mean), with its gradients; ∂loss/∂input (time-major, like the
    /// batch) when asked. With a `dropoutSeed` the ReLU layers' outputs are dropped as in
    /// training, with masks drawn from that seed; without one the model runs as at inference.
    public func loss(_ batch: SequenceBatch, labels: [Int], divisor: Int? = nil, inputGradient wantsInputGradient: Bool = false,
                     dropoutSeed: UInt64? = nil)
        -> (loss: Double, gradients: Gradients, inputGradient: [Float]?)
    {
        let result = lossAndHits(batch, labels: labels, divisor: divisor, inputGradient: wantsInputGradient, dropoutSeed: dropoutSeed)
        return (result.loss, result.gradients, result.inputGradient)
    }

    /// `loss`, plus how many sequences the (training-mode) forward pass classified right.
    func lossAndHits(_ batch: SequenceBatch, labels: [Int], divisor: Int?, inputGradient wantsInputGradient: Bool,
                     dropoutSeed: UInt64?) -> (loss: Double, gradients: Gradients, inputGradient: [Float]?, hits: Int) {
        precondition(labels.count == batch.batch, "\(labels.count) labels for \(batch.batch) sequences")
        var hits = 0
        let result = backpropagate(batch, inputGradient: wantsInputGradient, dropoutSeed: dropoutSeed) { logits in
            for (r, label) in labels.enumerated() where logits.row(r).offsetOfMaximum == label { hits += 1 }
            return SoftmaxCrossEntropy.loss(logits: logits, labels: labels, divisor: divisor ?? batch.batch)
        }
        return (result.loss, result.gradients, result.inputGradient, hits)
    }

    /// The forward pass to the head's outputs, `objective`'s loss of them and its gradient with
    /// respect to them, and the backward pass through every layer: what every training objective
    /// (cross-entropy of labels, squared error of regression targets) shares.
    func backpropagate(_ batch: SequenceBatch, inputGradient wantsInputGradient: Bool, dropoutSeed: UInt64?,
                       objective: (Matrix) -> (loss: Double, logitGradient: Matrix))
        -> (loss: Double, gradients: Gradients, inputGradient: [Float]?)
    {
        var traces: [LSTMLayer.Trace] = []
        var input = batch
        for layer in layers {
            let trace = layer.forward(input)
            input = trace.outputs
            traces.append(trace)
        }
        let summary = traces[traces.count - 1].finalHidden
        // ReLU layers: keep each layer's input, and its pre-activation and mask for the backward pass.
        var dropout = dropoutSeed.map(SeededGenerator.init(seed:))
        let keep = 1 - dropoutRate
        var denseInputs: [Matrix] = [], preActivations: [Matrix] = [], masks: [[Float]?] = []
        var activation = summary
        for dense in hidden {
            denseInputs.append(activation)
            let z = dense.outputs(activation)
            preActivations.append(z)
            var a = z
            for i in a.values.indices { a.values[i] = max(a.values[i], 0) }
            if dropout != nil && dropoutRate > 0 {
                let mask = (0..<a.values.count).map { _ in dropout!.unit() < Double(keep) ? 1 / keep : 0 }
                for i in a.values.indices { a.values[i] *= mask[i] }
                masks.append(mask)
            } else {
                masks.append(nil)
            }
            activation = a
        }
        let (loss, logitGradient) = objective(head.outputs(activation))
        var (headGradients, gradient) = head.backward(input: activation, outputGradient: logitGradient)
        var hiddenGradients: [DenseLayer.Gradients] = []
        for l in hidden.indices.reversed() {
            if let mask = masks[l] { for i in gradient.values.indices { gradient.values[i] *= mask[i] } }
            for i in gradient.values.indices where preActivations[l].values[i] <= 0 { gradient.values[i] = 0 }
            let (g, dx) = hidden[l].backward(input: denseInputs[l], outputGradient: gradient)
            hiddenGradients.append(g)
            gradient = dx
        }
        // Only the last step's hidden state reaches the head.
        let lastUnits = embeddingSize, stepValues = batch.batch * lastUnits
        var outputGradient = [Float](repeating: 0, count: batch.steps * stepValues)
        outputGradient.replaceSubrange((outputGradient.count - stepValues)..., with: gradient.values)
        var layerGradients: [LSTMLayer.Gradients] = []
        var inputGradient: [Float]? = nil
        for l in layers.indices.reversed() {
            let (g, dx) = layers[l].backward(traces[l], outputGradient: outputGradient,
                                             inputGradient: l > 0 || wantsInputGradient)
            layerGradients.append(g)
            if l > 0 { outputGradient = dx! } else { inputGradient = dx }
        }
        return (loss, Gradients(layers: layerGradients.reversed(), hidden: hiddenGradients.reversed(), head: headGradients),
                inputGradient)
    }

    /// Mini-batch training with Adam, reshuffling every epoch (Keras `fit(shuffle=True)`).
    /// Sequences are steps × inputSize matrices, all with the same number of steps. Adam's moments
    /// start afresh on each call. Returns the mean training loss of each epoch.
    @discardableResult
    public mutating func fit(sequences: [Matrix], labels: [Int], epochs: Int, batchSize: Int = 32, seed: UInt64,
                             optimizer: Adam = Adam()) -> [Double] {
        fit(sequences: sequences, labels: labels, validation: nil, epochs: epochs, batchSize: batchSize, seed: seed,
            optimizer: optimizer).epochs.map(\.loss)
    }

    /// One epoch of `fit`: mean training loss and accuracy (of the training-mode forward passes,
    /// dropout included, as Keras reports them), validation accuracy when there is validation data.
    public struct EpochRecord: Sendable, Equatable {
        public var loss: Double
        public var trainingAccuracy: Double
        public var validationAccuracy: Double?
        /// Wall time of the epoch: training, plus the validation pass when there is one.
        public var seconds: Double
    }

    public typealias TrainingHistory = TimbreNeural.TrainingHistory<EpochRecord>

    /// `fit` with per-epoch records. With `validation`, the model ends with the weights of the
    /// epoch of best validation accuracy, not the last epoch's (`train`). `onEpoch` is called
    /// after every epoch. Dropout masks come from `seed`, per batch and shard, so they too do not
    /// depend on the core count.
    public mutating func fit(sequences: [Matrix], labels: [Int], validation: (sequences: [Matrix], labels: [Int])?,
                             epochs: Int, batchSize: Int = 32, seed: UInt64, optimizer: Adam = Adam(),
                             onEpoch: (Int, EpochRecord) -> Void = { _, _ in }) -> TrainingHistory {
        precondition(sequences.count == labels.count, "\(sequences.count) sequences but \(labels.count) labels")
        for label in labels + (validation?.labels ?? []) {
            precondition((0..<classCount).contains(label), "label \(label) outside 0..<\(classCount)")
        }
        if let validation {
            precondition(validation.sequences.count == validation.labels.count && !validation.labels.isEmpty,
                         "validation: \(validation.sequences.count) sequences, \(validation.labels.count) labels")
        }
        func batch(_ network: SequenceClassifier, _ members: [Int], _ dropoutSeed: UInt64?) -> BatchResult {
            let (loss, hits, gradients) = network.batchGradients(members.map { sequences[$0] }, labels: members.map { labels[$0] },
                                                                 dropoutSeed: dropoutSeed)
            return BatchResult(loss: loss, weight: Double(members.count), hits: hits, gradients: gradients)
        }
        let validationScore = validation.map { validation in
            { (network: SequenceClassifier) in network.accuracy(validation.sequences, labels: validation.labels) }
        }
        let count = Double(sequences.count)
        func record(_ totals: EpochTotals) -> EpochRecord {
            EpochRecord(loss: totals.loss, trainingAccuracy: Double(totals.hits) / count,
                        validationAccuracy: totals.validationScore, seconds: totals.seconds)
        }
        return train(sequences: sequences, epochs: epochs, batchSize: batchSize, seed: seed, optimizer: optimizer,
                     batch: batch, validationScore: validationScore, record: record, onEpoch: onEpoch)
    }

    /// Mean loss, correct predictions and gradients of one mini-batch, its shards computed
    /// concurrently. Shard s drops out with masks from `dropoutSeed` + s.
    func batchGradients(_ sequences: [Matrix], labels: [Int], dropoutSeed: UInt64? = nil) -> (Double, Int, Gradients) {
        let model = self, divisor = sequences.count
        return shardedGradients(count: sequences.count, dropoutSeed: dropoutSeed) { shard, seed in
            let r = model.lossAndHits(SequenceBatch(Array(sequences[shard])), labels: Array(labels[shard]), divisor: divisor,
                                      inputGradient: false, dropoutSeed: seed)
            return (r.loss, r.hits, r.gradients)
        }
    }

    /// Splits a mini-batch of `count` sequences into shards of `shardSize`, runs `shardLoss` on
    /// them concurrently (shard s with dropout seed `dropoutSeed` + s) and sums their losses,
    /// counts and gradients in shard order.
    func shardedGradients(count: Int, dropoutSeed: UInt64?,
                          shardLoss: @Sendable (Range<Int>, UInt64?) -> (Double, Int, Gradients)) -> (Double, Int, Gradients) {
        let shards = stride(from: 0, to: count, by: Self.shardSize).map { $0..<min($0 + Self.shardSize, count) }
        let results = concurrentChunks(shards.count, chunksPerCore: 1) { range in
            range.map { s in shardLoss(shards[s], dropoutSeed.map { $0 &+ UInt64(s) &* 0x9E37_79B9_7F4A_7C15 }) }
        }.flatMap { $0 }
        var (loss, hits, gradients) = results[0]
        for (l, h, g) in results.dropFirst() { loss += l; hits += h; gradients.add(g) }
        return (loss, hits, gradients)
    }

    /// Zero Adam moments for every tensor, in the order `apply` updates them.
    func freshMoments() -> [Adam.Moments] {
        var moments: [Adam.Moments] = []
        for layer in layers {
            moments += [layer.kernel.values.count, layer.recurrentKernel.values.count, layer.bias.count].map(Adam.Moments.init)
        }
        for dense in hidden + [head] { moments += [dense.kernel.values.count, dense.bias.count].map(Adam.Moments.init) }
        return moments
    }

    mutating func apply(_ gradients: Gradients, optimizer: Adam, moments: inout [Adam.Moments], step: Int) {
        var slot = 0
        for l in layers.indices {
            optimizer.update(&layers[l].kernel.values, gradient: gradients.layers[l].kernel, moments: &moments[slot], step: step)
            optimizer.update(&layers[l].recurrentKernel.values, gradient: gradients.layers[l].recurrentKernel,
                             moments: &moments[slot + 1], step: step)
            optimizer.update(&layers[l].bias, gradient: gradients.layers[l].bias, moments: &moments[slot + 2], step: step)
            slot += 3
        }
        for l in hidden.indices {
            optimizer.update(&hidden[l].kernel.values, gradient: gradients.hidden[l].kernel, moments: &moments[slot], step: step)
            optimizer.update(&hidden[l].bias, gradient: gradients.hidden[l].bias, moments: &moments[slot + 1], step: step)
            slot += 2
        }
        optimizer.update(&head.kernel.values, gradient: gradients.head.kernel, moments: &moments[slot], step: step)
        optimizer.update(&head.bias, gradient: gradients.head.bias, moments: &moments[slot + 1], step: step)
    }

    /// Fraction of sequences whose most probable class is their label (inference mode).
    public func accuracy(_ sequences: [Matrix], labels: [Int]) -> Double {
        precondition(sequences.count == labels.count && !labels.isEmpty, "\(sequences.count) sequences, \(labels.count) labels")
        let p = probabilities(for: sequences)
        var hits = 0
        for (n, label) in labels.enumerated() where p.row(n).offsetOfMaximum == label { hits += 1 }
        return Double(hits) / Double(labels.count)
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
        probabilities(ofEmbeddings: embeddings(of: sequences))
    }

    /// Class probabilities from `embeddings(of:)`'s output, so a caller that wants both runs the
    /// LSTM layers once.
    public func probabilities(ofEmbeddings embeddings: Matrix) -> Matrix {
        SoftmaxCrossEntropy.probabilities(headOutputs(ofEmbeddings: embeddings))
    }

    /// The head's outputs (before any softmax) from `embeddings(of:)`'s output, in inference mode.
    public func headOutputs(ofEmbeddings embeddings: Matrix) -> Matrix {
        precondition(embeddings.columns == embeddingSize, "embeddings of \(embeddings.columns) values, the model makes \(embeddingSize)")
        var activation = embeddings
        for dense in hidden {
            activation = dense.outputs(activation)
            for i in activation.values.indices { activation.values[i] = max(activation.values[i], 0) }
        }
        return head.outputs(activation)
    }

    private func finalHidden(_ batch: SequenceBatch) -> Matrix {
        var input = batch
        for layer in layers.dropLast() { input = layer.forward(input).outputs }
        return layers[layers.count - 1].forward(input).finalHidden
    }

    // MARK: Coding

    private static let format = "timbre.SequenceClassifier"
    /// Version 2 adds the ReLU layers and the dropout rate; version 1 (no ReLU layers) still reads.
    private static let formatVersion: UInt32 = 2
    /// Bounds on decoded sizes, so that corrupt bytes fail cleanly instead of allocating wildly.
    private static let maxWidth = 1 << 16

    public func encode() -> [UInt8] {
        var w = ModelWriter()
        w.write(Self.format)
        w.write(Self.formatVersion)
        w.write(Int64(inputSize))
        w.write(layerSizes.map(Int64.init))
        w.write(hiddenSizes.map(Int64.init))
        w.write(dropoutRate)
        w.write(Int64(classCount))
        for layer in layers {
            w.write(layer.kernel.values)
            w.write(layer.recurrentKernel.values)
            w.write(layer.bias)
        }
        for dense in hidden {
            w.write(dense.kernel.values)
            w.write(dense.bias)
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
        guard version == 1 || version == Self.formatVersion else {
            throw fail("format version \(version), expected 1 or \(Self.formatVersion)")
        }
        let inputSize = try size(try r.read(Int64.self), "input size")
        let sizes = try r.read([Int64].self)
        guard !sizes.isEmpty else { throw fail("no LSTM layers") }
        let layerSizes = try sizes.map { try size($0, "layer size") }
        var hiddenSizes: [Int] = [], dropoutRate: Float = 0
        if version >= 2 {
            hiddenSizes = try r.read([Int64].self).map { try size($0, "ReLU layer size") }
            dropoutRate = try r.read(Float.self)
            guard dropoutRate >= 0 && dropoutRate < 1 else { throw fail("dropout rate \(dropoutRate) outside [0, 1)") }
        }
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
        var hidden: [DenseLayer] = []
        for (l, units) in hiddenSizes.enumerated() {
            let kernel = try values(width * units, "ReLU layer \(l) kernel")
            let bias = try values(units, "ReLU layer \(l) bias")
            hidden.append(DenseLayer(kernel: Matrix(rows: width, columns: units, values: kernel), bias: bias))
            width = units
        }
        let headKernel = try values(width * classCount, "head kernel")
        let headBias = try values(classCount, "head bias")
        try r.expectEnd()
        self.init(layers: layers, hidden: hidden, dropoutRate: dropoutRate,
                  head: DenseLayer(kernel: Matrix(rows: width, columns: classCount, values: headKernel), bias: headBias))
    }
}
