/// Equal-length sequences stored time-major: step t of sequence b is row t·batch + b of a
/// (steps·batch) × features matrix. Time-major keeps each step's rows contiguous, so one LSTM
/// step is one matrix product over the whole batch.
public struct SequenceBatch: Sendable, Equatable {
    public let batch: Int
    public let steps: Int
    public let features: Int
    public var values: [Float]

    public init(batch: Int, steps: Int, features: Int, values: [Float]) {
        precondition(batch >= 1 && steps >= 1 && features >= 1,
                     "a sequence batch needs ≥ 1 sequence, step and feature (got \(batch)×\(steps)×\(features))")
        precondition(values.count == batch * steps * features,
                     "sequence batch \(batch)×\(steps)×\(features) does not match its \(values.count) values")
        self.batch = batch
        self.steps = steps
        self.features = features
        self.values = values
    }

    /// Sequences given as steps × features matrices, all of one shape.
    public init<C: Collection>(_ sequences: C) where C.Element == Matrix {
        guard let first = sequences.first else { preconditionFailure("a sequence batch needs ≥ 1 sequence") }
        let batch = sequences.count, steps = first.rows, features = first.columns
        var values = [Float](repeating: 0, count: batch * steps * features)
        for (b, sequence) in sequences.enumerated() {
            precondition(sequence.rows == steps && sequence.columns == features,
                         "sequence \(b) is \(sequence.rows)×\(sequence.columns), the batch is \(steps)×\(features)")
            for t in 0..<steps {
                let to = (t * batch + b) * features, from = t * features
                for f in 0..<features { values[to + f] = sequence.values[from + f] }
            }
        }
        self.init(batch: batch, steps: steps, features: features, values: values)
    }

    public subscript(sequence b: Int, step t: Int, feature f: Int) -> Float {
        values[(t * batch + b) * features + f]
    }
}
