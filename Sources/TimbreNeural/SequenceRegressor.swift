import Foundation
import TimbreCore

/// Weighted squared error of regression outputs: Σ_n w_n · Σ_k (ŷ_nk − y_nk)² / (K · divisor),
/// K outputs per row. With unit weights and `divisor` the row count it is the mean squared error
/// per value (Keras `mean_squared_error`); van den Oord et al. (2013) weight each track by its
/// play count, which is what `weights` is for.
public enum WeightedSquaredError {
    /// The loss and its gradient with respect to `outputs`. `targets` and `outputs` have one row
    /// per sequence; `divisor` is the whole mini-batch's weight, so shards add up to its mean.
    public static func loss(outputs: Matrix, targets: Matrix, weights: [Float], divisor: Double)
        -> (loss: Double, logitGradient: Matrix)
    {
        precondition(outputs.rows == targets.rows && outputs.columns == targets.columns,
                     "outputs \(outputs.rows)×\(outputs.columns), targets \(targets.rows)×\(targets.columns)")
        precondition(weights.count == outputs.rows, "\(weights.count) weights for \(outputs.rows) rows")
        precondition(divisor > 0, "divisor \(divisor) must be > 0")
        let k = outputs.columns
        let scale = 1 / (Double(k) * divisor)
        var gradient = outputs
        var loss = 0.0
        for r in 0..<outputs.rows {
            let w = Double(weights[r])
            for j in 0..<k {
                let e = Double(outputs.values[r * k + j]) - Double(targets.values[r * k + j])
                loss += w * e * e
                gradient.values[r * k + j] = Float(2 * w * e * scale)
            }
        }
        return (loss * scale, gradient)
    }
}

/// The content network with a linear regression head: stacked LSTM layers → the last layer's
/// final hidden state → optional ReLU Dense layers (dropout in training) → Dense(outputs), trained
/// on weighted squared error. This is van den Oord, Dieleman & Schrauwen's (2013) objective: the
/// audio learns to predict the collaborative-filtering factors a track would have from its plays.
/// It shares the classifier's layers, forward and backward passes, sharding and Adam updates
/// (`SequenceClassifier.backpropagate`) and its epoch loop (`train`); only the objective and the
/// kept-epoch rule differ.
public struct SequenceRegressor: Sendable, Equatable {
    /// The network; its "classes" are the regression outputs, read without softmax.
    public private(set) var network: SequenceClassifier

    public var inputSize: Int { network.inputSize }
    public var outputCount: Int { network.classCount }
    public var embeddingSize: Int { network.embeddingSize }

    /// `outputCount` ≥ 2 (a factor model has at least two factors).
    public init(inputSize: Int, layerSizes: [Int], hiddenSizes: [Int] = [], dropoutRate: Float = 0, outputCount: Int, seed: UInt64) {
        network = SequenceClassifier(inputSize: inputSize, layerSizes: layerSizes, hiddenSizes: hiddenSizes,
                                     dropoutRate: dropoutRate, classCount: outputCount, seed: seed)
    }

    public init(network: SequenceClassifier) { self.network = network }

    /// The reference content model's layers (LSTM(64) → LSTM(64) → Dense(64, ReLU) → Dropout(0.3))
    /// with a linear head of `outputCount` values.
    public static func contentModel(inputSize: Int = 20, outputCount: Int, seed: UInt64) -> SequenceRegressor {
        SequenceRegressor(inputSize: inputSize, layerSizes: [64, 64], hiddenSizes: [64], dropoutRate: 0.3,
                          outputCount: outputCount, seed: seed)
    }

    /// Weighted squared error of `targets` (batch × outputCount; unit weights when nil), divided
    /// by `divisor` (default: the batch's total weight, i.e. the weighted mean) and by the output
    /// count, with its gradients; ∂loss/∂input when asked. Dropout as in
    /// `SequenceClassifier.loss`.
    public func loss(_ batch: SequenceBatch, targets: Matrix, weights: [Float]? = nil, divisor: Double? = nil,
                     inputGradient wantsInputGradient: Bool = false, dropoutSeed: UInt64? = nil)
        -> (loss: Double, gradients: SequenceClassifier.Gradients, inputGradient: [Float]?)
    {
        precondition(targets.rows == batch.batch && targets.columns == outputCount,
                     "targets \(targets.rows)×\(targets.columns) for \(batch.batch) sequences × \(outputCount) outputs")
        let w = weights ?? [Float](repeating: 1, count: batch.batch)
        let total = divisor ?? w.reduce(0.0) { $0 + Double($1) }
        return network.backpropagate(batch, inputGradient: wantsInputGradient, dropoutSeed: dropoutSeed) { outputs in
            WeightedSquaredError.loss(outputs: outputs, targets: targets, weights: w, divisor: total)
        }
    }

    /// One epoch of `fit`: the mean training loss (training-mode passes, dropout included) and the
    /// validation mean squared error (inference mode) when there is validation data.
    public struct EpochRecord: Sendable, Equatable {
        public var loss: Double
        public var validationError: Double?
        public var seconds: Double
    }

    public typealias TrainingHistory = TimbreNeural.TrainingHistory<EpochRecord>

    /// Mini-batch training with Adam, reshuffled every epoch, on sequences of one length
    /// (steps × inputSize) and their targets (sequences × outputCount). `weights` (one per
    /// sequence, > 0; all 1 when nil) weight the squared error. With `validation` the model ends
    /// with the weights of the epoch of least validation mean squared error. Shards, dropout masks
    /// and shuffling depend on the seed only, as in `SequenceClassifier.fit`.
    public mutating func fit(sequences: [Matrix], targets: Matrix, weights: [Float]? = nil,
                             validation: (sequences: [Matrix], targets: Matrix)? = nil,
                             epochs: Int, batchSize: Int = 32, seed: UInt64, optimizer: Adam = Adam(),
                             onEpoch: (Int, EpochRecord) -> Void = { _, _ in }) -> TrainingHistory {
        precondition(targets.rows == sequences.count && targets.columns == outputCount,
                     "targets \(targets.rows)×\(targets.columns) for \(sequences.count) sequences × \(outputCount) outputs")
        let weights = weights ?? [Float](repeating: 1, count: sequences.count)
        precondition(weights.count == sequences.count && weights.allSatisfy { $0 > 0 && $0.isFinite },
                     "\(weights.count) weights for \(sequences.count) sequences; each must be > 0 and finite")
        if let validation {
            precondition(!validation.sequences.isEmpty && validation.targets.rows == validation.sequences.count
                         && validation.targets.columns == outputCount, "validation: sequences and targets do not match")
        }
        let k = outputCount
        func batch(_ network: SequenceClassifier, _ members: [Int], _ dropoutSeed: UInt64?) -> SequenceClassifier.BatchResult {
            let batchSequences = members.map { sequences[$0] }
            let batchTargets = members.flatMap { targets.row($0) }
            let batchWeights = members.map { weights[$0] }
            let total = batchWeights.reduce(0.0) { $0 + Double($1) }
            let model = SequenceRegressor(network: network)
            let (loss, _, gradients) = network.shardedGradients(count: members.count, dropoutSeed: dropoutSeed) { shard, seed in
                let shardTargets = Matrix(rows: shard.count, columns: k,
                                          values: Array(batchTargets[shard.lowerBound * k..<shard.upperBound * k]))
                let r = model.loss(SequenceBatch(Array(batchSequences[shard])), targets: shardTargets,
                                   weights: Array(batchWeights[shard]), divisor: total, dropoutSeed: seed)
                return (r.loss, 0, r.gradients)
            }
            return SequenceClassifier.BatchResult(loss: loss, weight: total, hits: 0, gradients: gradients)
        }
        // The shared loop keeps the epoch of highest score: here the least error.
        let validationScore = validation.map { validation in
            { (network: SequenceClassifier) in
                -SequenceRegressor(network: network).meanSquaredError(validation.sequences, targets: validation.targets)
            }
        }
        func record(_ totals: SequenceClassifier.EpochTotals) -> EpochRecord {
            EpochRecord(loss: totals.loss, validationError: totals.validationScore.map { -$0 }, seconds: totals.seconds)
        }
        return network.train(sequences: sequences, epochs: epochs, batchSize: batchSize, seed: seed, optimizer: optimizer,
                             batch: batch, validationScore: validationScore, record: record, onEpoch: onEpoch)
    }

    /// Unweighted mean squared error per value of the predictions (inference mode).
    public func meanSquaredError(_ sequences: [Matrix], targets: Matrix) -> Double {
        let predicted = predictions(for: sequences)
        precondition(predicted.values.count == targets.values.count, "targets do not match the sequences")
        let total = zip(predicted.values, targets.values).reduce(0.0) { $0 + Double($1.0 - $1.1) * Double($1.0 - $1.1) }
        return total / Double(max(targets.values.count, 1))
    }

    /// The last LSTM layer's final hidden state of each sequence (sequences may differ in length).
    public func embeddings(of sequences: [Matrix]) -> Matrix { network.embeddings(of: sequences) }

    /// Predicted outputs: sequences × outputCount.
    public func predictions(for sequences: [Matrix]) -> Matrix { network.headOutputs(ofEmbeddings: embeddings(of: sequences)) }

    public func predictions(ofEmbeddings embeddings: Matrix) -> Matrix { network.headOutputs(ofEmbeddings: embeddings) }

    // MARK: Coding

    private static let format = ModelFormat("timbre.SequenceRegressor", version: 1, what: "sequence regressor")

    public func encode() -> [UInt8] {
        var w = ModelWriter(format: Self.format)
        w.write(network.encode())
        return w.bytes
    }

    public init(decoding bytes: [UInt8]) throws {
        var r = try ModelReader(bytes, format: Self.format)
        let network = try SequenceClassifier(decoding: try r.read([UInt8].self))
        try r.expectEnd()
        self.init(network: network)
    }
}
