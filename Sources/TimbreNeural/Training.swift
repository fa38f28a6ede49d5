import Foundation
import TimbreCore

/// The weights of the epoch with the highest validation score so far (the earliest on a tie),
/// which training keeps (Keras `ModelCheckpoint(save_best_only=True)`).
struct BestEpoch<Model> {
    private var best: (score: Double, model: Model)?
    var model: Model? { best?.model }

    /// Records an epoch's score and weights; true when they are the best so far.
    mutating func offer(_ score: Double, _ model: Model) -> Bool {
        guard best == nil || score > best!.score else { return false }
        best = (score, model)
        return true
    }
}

/// What `fit` did, one record per epoch, and whose weights it kept.
public struct TrainingHistory<Epoch: Sendable & Equatable>: Sendable, Equatable {
    public var epochs: [Epoch]
    /// Index into `epochs` of the weights kept: the best validation score (the earliest on a tie),
    /// or the last epoch without validation data.
    public var keptEpoch: Int?
}

extension SequenceClassifier {
    /// One mini-batch as a training objective scores it.
    struct BatchResult {
        /// The batch's loss: a mean over `weight`.
        var loss: Double
        /// What the loss is a mean over (the sequence count, or the total weight of weighted
        /// regression), so the epoch's loss is the mean over the whole training set.
        var weight: Double
        /// Sequences the training-mode forward pass classified right (0 where nothing is classified).
        var hits: Int
        var gradients: Gradients
    }

    /// One epoch as the shared loop measures it; each objective turns it into its own record.
    struct EpochTotals {
        /// The weighted mean of the mini-batches' losses.
        var loss: Double
        var hits: Int
        /// The objective's validation score (higher is better) when there is validation data.
        var validationScore: Double?
        /// Wall time of the epoch: training, plus the validation pass when there is one.
        var seconds: Double
    }

    /// The epoch loop every training objective shares: mini-batch Adam (moments afresh on each
    /// call), the order reshuffled every epoch from `seed` (Keras `fit(shuffle=True)`), dropout
    /// masks from a stream of their own. `batch` scores the mini-batch of the given training-set
    /// indices on the current weights, with a dropout seed when the model drops out. With
    /// `validationScore` the network ends with the weights of the epoch of highest score (Keras
    /// `ModelCheckpoint(save_best_only=True)` reloaded after training), not the last epoch's.
    /// `record` turns each epoch's totals into the objective's record; `onEpoch` sees each one.
    mutating func train<Epoch>(sequences: [Matrix], epochs: Int, batchSize: Int, seed: UInt64, optimizer: Adam,
                               batch: (SequenceClassifier, [Int], UInt64?) -> BatchResult,
                               validationScore: ((SequenceClassifier) -> Double)?,
                               record: (EpochTotals) -> Epoch,
                               onEpoch: (Int, Epoch) -> Void) -> TimbreNeural.TrainingHistory<Epoch> {
        precondition(!sequences.isEmpty, "nothing to fit")
        precondition(epochs >= 0 && batchSize >= 1, "epochs must be ≥ 0 and batch size ≥ 1")
        let steps = sequences[0].rows
        for (n, s) in sequences.enumerated() {
            precondition(s.rows == steps && s.columns == inputSize,
                         "sequence \(n) is \(s.rows)×\(s.columns); training needs \(steps)×\(inputSize) throughout")
        }
        var moments = freshMoments()
        var rng = SeededGenerator(seed: seed)
        // A separate stream for dropout, so adding dropout leaves the shuffling unchanged.
        var dropoutStream = SeededGenerator(seed: seed ^ 0x5EED_D809_0D7A_11CE)
        var order = Array(sequences.indices)
        var step = 0
        var history = TimbreNeural.TrainingHistory<Epoch>(epochs: [], keptEpoch: nil)
        var best = BestEpoch<SequenceClassifier>()
        for epoch in 0..<epochs {
            let started = Date()
            rng.shuffle(&order)
            var lossSum = 0.0, weightSum = 0.0, hits = 0
            for start in stride(from: 0, to: order.count, by: batchSize) {
                let members = Array(order[start..<min(start + batchSize, order.count)])
                let result = batch(self, members, dropoutRate > 0 ? dropoutStream.next() : nil)
                lossSum += result.loss * result.weight
                weightSum += result.weight
                hits += result.hits
                step += 1
                apply(result.gradients, optimizer: optimizer, moments: &moments, step: step)
            }
            var totals = EpochTotals(loss: lossSum / weightSum, hits: hits, validationScore: nil, seconds: 0)
            if let validationScore {
                let score = validationScore(self)
                totals.validationScore = score
                if best.offer(score, self) { history.keptEpoch = epoch }
            } else {
                history.keptEpoch = epoch
            }
            totals.seconds = Date().timeIntervalSince(started)
            let epochRecord = record(totals)
            history.epochs.append(epochRecord)
            onEpoch(epoch, epochRecord)
        }
        if let kept = best.model { self = kept }
        return history
    }
}
