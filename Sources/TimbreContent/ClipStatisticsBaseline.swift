import TimbreCore
import TimbreNeural

/// The reference's simple baseline, to tell a hard split from a weak sequence model: multinomial
/// logistic regression on each clip's mean and standard deviation of every coefficient over all
/// its frames (40 features for 20 MFCCs), standardised with training statistics, trained by
/// full-batch Adam, the step count chosen by validation clip accuracy.
public struct ClipStatisticsBaseline: Sendable {
    public var validationAccuracy: Double
    public var testAccuracy: Double
    public var steps: Int

    public init(_ experiment: ContentExperiment, maximumSteps: Int = 2_000, learningRate: Float = 0.01, seed: UInt64) {
        let train = Self.statistics(experiment.train), validation = Self.statistics(experiment.validation)
        let test = Self.statistics(experiment.test)
        let scale = Standardisation(fitting: [train])
        let (x, xv, xt) = (scale.apply(train), scale.apply(validation), scale.apply(test))
        var rng = SeededGenerator(seed: seed)
        var model = DenseLayer(inputSize: x.columns, outputSize: experiment.classNames.count, generator: &rng)
        let optimiser = Adam(learningRate: learningRate)
        var kernelMoments = Adam.Moments(count: model.kernel.values.count), biasMoments = Adam.Moments(count: model.bias.count)
        var best = (accuracy: -1.0, model: model, step: 0)
        for step in 1...maximumSteps {
            let (_, logitGradient) = SoftmaxCrossEntropy.loss(logits: model.outputs(x), labels: experiment.train.clipLabels,
                                                             divisor: x.rows)
            let (gradients, _) = model.backward(input: x, outputGradient: logitGradient)
            optimiser.update(&model.kernel.values, gradient: gradients.kernel, moments: &kernelMoments, step: step)
            optimiser.update(&model.bias, gradient: gradients.bias, moments: &biasMoments, step: step)
            if step % 10 == 0 {
                let accuracy = Self.accuracy(model, xv, experiment.validation.clipLabels)
                if accuracy > best.accuracy { best = (accuracy, model, step) }
            }
        }
        validationAccuracy = best.accuracy
        testAccuracy = Self.accuracy(best.model, xt, experiment.test.clipLabels)
        steps = best.step
    }

    /// One row per clip: the mean of each feature over all frames of the clip's segments, then the
    /// population standard deviations.
    static func statistics(_ part: ClipSegments) -> Matrix {
        let features = part.sequences.first?.columns ?? 0
        var sums = [[Double]](repeating: [Double](repeating: 0, count: 2 * features), count: part.clips.count)
        var frames = [Int](repeating: 0, count: part.clips.count)
        for (s, sequence) in part.sequences.enumerated() {
            let c = part.clipOfSegment[s]
            for r in 0..<sequence.rows {
                for f in 0..<features {
                    let v = Double(sequence[r, f])
                    sums[c][f] += v
                    sums[c][features + f] += v * v
                }
            }
            frames[c] += sequence.rows
        }
        var out = Matrix(rows: part.clips.count, columns: 2 * features)
        for c in 0..<part.clips.count {
            let n = Double(max(frames[c], 1))
            for f in 0..<features {
                let mean = sums[c][f] / n
                out[c, f] = Float(mean)
                out[c, features + f] = Float(max(sums[c][features + f] / n - mean * mean, 0).squareRoot())
            }
        }
        return out
    }

    static func accuracy(_ model: DenseLayer, _ x: Matrix, _ labels: [Int]) -> Double {
        let logits = model.outputs(x)
        var hits = 0
        for r in 0..<logits.rows where logits.row(r).offsetOfMaximum == labels[r] { hits += 1 }
        return labels.isEmpty ? 0 : Double(hits) / Double(labels.count)
    }
}
